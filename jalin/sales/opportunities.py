"""Opportunities: create, change, move across a pipeline's stages (kanban board), close as won
or lost with a reason, reopen; product lines that make up the amount; the pipeline settings
(pipelines, stages with probabilities, close reasons, competitors) and the stale-deal alert.

Every write is keyword-only, owns its transaction, locks the opportunity row, writes the audit
log and emits a `sales.opportunity.*` event in the same transaction:

- `created`, `updated` (payload `changed`), `moved` (from/to stage, seconds in the previous
  stage), `won`, `lost` (reason), `reopened`, `stale` (the alert). Each payload carries
  `account_id` / `contact_id` and `title`, so the CRM timeline shows the deal on its account.
- `version` is optimistic concurrency: a stale version raises `StaleVersion` (409 in the API,
  a clear message on the page). Bad input raises Django's `ValidationError` keyed by field or
  `SalesError` (422; `not_found` → 404) before anything is written.
- Stage history: every stage an opportunity enters (including the first, on create) is an
  `OpportunityStageChange` row with who moved it and how many seconds it sat in the previous
  stage. Reordering cards inside a column changes only `board_rank`.
- `board_rank` is a float: a card dropped between two neighbours gets the midpoint. When the
  gap becomes too small to split (after ~50 drops between the same two cards), the column is
  renumbered in steps of `RANK_STEP` first.
- Moving to a won/lost stage goes through `opportunity_close` (a win needs the pipeline's won
  stage; a loss needs one of the organization's lost reasons — or, when it has configured
  none, a note). A closed deal is reopened with `opportunity_reopen` before it moves again.
- Closing as won with the hub order of an accepted quote is idempotent: the same order again
  changes nothing, and it also wins a deal that was closed lost (the customer ordered after
  all).
- A stale deal is an open one without a stage change or edit for its pipeline's
  `stale_after_days`; `opportunities_alert_stale` notifies the owner once per stale spell
  (`stale_alerted_at`, cleared by any move or change). Registered as a housekeeping job.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.core.params import int_param
from jalin.crm.models import Account, Contact
from jalin.hub.selectors import products_for_supplier
from jalin.tenancy.models import Membership, validate_currency
from jalin.tenancy.services import StaleVersion

from . import board_tally
from .leads import (
    SalesError,
    default_pipeline,
    member_user,
    organization_currency,
)
from .models import (
    Campaign,
    CloseReason,
    Competitor,
    ForecastCategory,
    Lead,
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    SalesTeam,
    StageKind,
)

__all__ = ["SalesError", "StaleVersion"]

RANK_STEP = 1024.0
MIN_RANK_GAP = 1e-6
MAX_LINES = 200
MAX_COMPETITORS = 20
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")

UPDATABLE = (
    "name", "account", "contact", "amount", "currency", "close_date", "owner", "team",
    "next_step", "next_step_on", "probability", "forecast_category", "competitors", "campaign",
)
# Forecast categories a seller may choose for an open deal (closed/omitted follow the stage).
OPEN_CATEGORIES = (ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE,
                   ForecastCategory.COMMIT, ForecastCategory.OMITTED)

DEFAULT_CLOSE_REASONS = (
    (StageKind.LOST, gettext_lazy("Price too high")),
    (StageKind.LOST, gettext_lazy("Went with a competitor")),
    (StageKind.LOST, gettext_lazy("No budget")),
    (StageKind.LOST, gettext_lazy("No decision / went quiet")),
    (StageKind.LOST, gettext_lazy("Timing")),
    (StageKind.WON, gettext_lazy("Price")),
    (StageKind.WON, gettext_lazy("Relationship")),
    (StageKind.WON, gettext_lazy("Product fit")),
)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _invalid(field, message, code="invalid"):
    return ValidationError({field: [ValidationError(message, code=code)]})


def _not_found(field, message):
    return SalesError(message, code="not_found", field=field)


def _text(value, limit):
    return " ".join(str(value or "").split())[:limit]


def _money(value, field="amount"):
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("Enter an amount, e.g. 1500000.")) from None
    if not amount.is_finite():
        raise _invalid(field, _("Enter an amount, e.g. 1500000."))
    if amount < 0:
        raise _invalid(field, _("The amount cannot be negative."))
    if amount > MAX_AMOUNT:
        raise _invalid(field, _("The amount is too large."))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _date(value, field):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise _invalid(field, _("Enter a date as YYYY-MM-DD.")) from None


def _currency(value):
    code = str(value or "").strip().upper()
    try:
        validate_currency(code)
    except ValidationError:
        raise _invalid("currency", _("Use a three-letter currency code, e.g. IDR.")) from None
    return code


def _probability(value):
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool) or not 0 <= number <= 100:
        raise _invalid("probability", _("Probability is a whole number from 0 to 100."))
    return number


def _obj_id(value):
    value = getattr(value, "pk", value)
    if value in (None, ""):
        return None
    return int_param(value, default=-1)


def _in_org(model, organization, value, field, message, **extra):
    """The row of `model` with this id (or object) in the organization; None for empty."""
    pk = _obj_id(value)
    if pk is None:
        return None
    owner = model.tenant_owner.replace(".", "__")
    row = model._default_manager.filter(pk=pk, **{owner: organization}, **extra).first()
    if row is None:
        raise _not_found(field, message)
    return row


def _account(organization, value):
    account = _in_org(Account, organization, value, "account_id",
                      _("No such account in this organization."), archived_at__isnull=True)
    if account is None:
        raise _invalid("account_id", _("Choose the account."), code="required")
    return account


def _contact(organization, value):
    return _in_org(Contact, organization, value, "contact_id",
                   _("No such contact in this organization."))


def _team(organization, value):
    return _in_org(SalesTeam, organization, value, "team_id",
                   _("No such team in this organization."))


def _campaign(organization, value):
    return _in_org(Campaign, organization, value, "campaign_id",
                   _("No such campaign in this organization."))


def _pipeline(organization, value):
    return _in_org(Pipeline, organization, value, "pipeline_id",
                   _("No such pipeline in this organization."), archived_at__isnull=True)


def _competitors(organization, values):
    ids = {_obj_id(value) for value in values or ()} - {None}
    if len(ids) > MAX_COMPETITORS:
        raise _invalid("competitor_ids", _("Name at most 20 competitors."))
    rows = list(Competitor.objects.filter(organization=organization, pk__in=ids))
    if len(rows) != len(ids):
        raise _not_found("competitor_ids", _("No such competitor in this organization."))
    return rows


def _state(opportunity):
    return {
        "name": opportunity.name, "account_id": opportunity.account_id,
        "contact_id": opportunity.contact_id, "amount": str(opportunity.amount),
        "currency": opportunity.currency, "close_date": opportunity.close_date.isoformat(),
        "owner_id": opportunity.owner_id, "team_id": opportunity.team_id,
        "next_step": opportunity.next_step,
        "next_step_on": opportunity.next_step_on.isoformat() if opportunity.next_step_on
        else None,
        "probability": opportunity.probability,
        "forecast_category": opportunity.forecast_category,
        "campaign_id": opportunity.campaign_id, "stage_id": opportunity.stage_id,
        "status": opportunity.status,
    }


def _payload(opportunity, **extra):
    payload = {
        "title": opportunity.name[:120], "opportunity_id": opportunity.pk,
        "account_id": opportunity.account_id, "contact_id": opportunity.contact_id,
        "stage_id": opportunity.stage_id, "stage": opportunity.stage.name,
        "amount": str(opportunity.amount), "total": str(opportunity.amount),
        "currency": opportunity.currency, "owner_id": opportunity.owner_id,
    }
    payload.update(extra)
    return payload


def _emit(kind, opportunity, actor, *, before=None, after=None, **extra):
    organization = opportunity.organization
    audit_record(actor=actor, organization=organization, action=f"sales.opportunity.{kind}",
                 obj=opportunity, before=before, after=after)
    emit_event(type=f"sales.opportunity.{kind}", organization=organization,
               aggregate=opportunity, actor=_user(actor), payload=_payload(opportunity, **extra))


def _lock(opportunity, version):
    # Lock the deal row only, without joins: after waiting for another mover, PostgreSQL
    # re-checks a joined row against the old stage and would lose the deal.
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if version is not None and locked.version != _obj_id(version):
        raise StaleVersion()
    locked._board_key = board_tally.board_key(locked)
    return locked


def _save(opportunity, **kwargs):
    """Save the deal and move its share of the board's column tallies (same transaction)."""
    opportunity.save(**kwargs)
    after = board_tally.board_key(opportunity)
    board_tally.apply(organization_id=opportunity.organization_id,
                      before=getattr(opportunity, "_board_key", None), after=after)
    opportunity._board_key = after


def _touch(opportunity, now=None):
    opportunity.version += 1
    opportunity.updated_at = now or timezone.now()
    opportunity.stale_alerted_at = None


def _record_stage(opportunity, from_stage, to_stage, actor, now):
    seconds = 0
    if from_stage is not None:
        seconds = max(0, int((now - opportunity.stage_entered_at).total_seconds()))
    OpportunityStageChange.objects.create(
        opportunity=opportunity, from_stage=from_stage, to_stage=to_stage,
        seconds_in_previous=seconds, amount=opportunity.amount, changed_by=_user(actor),
        changed_at=now)
    opportunity.stage = to_stage
    opportunity.stage_entered_at = now
    return seconds


# --- Board ranks ---------------------------------------------------------------------------


def _column(organization_id, pipeline_id, stage_id):
    return Opportunity.objects.filter(organization_id=organization_id, pipeline_id=pipeline_id,
                                      stage_id=stage_id, status=OpportunityStatus.OPEN)


def _renumber(column):
    """Spread a column's ranks evenly again (in current order)."""
    ids = list(column.order_by("board_rank", "id").values_list("pk", flat=True))
    rows = [Opportunity(pk=pk, board_rank=(index + 1) * RANK_STEP) for index, pk in enumerate(ids)]
    Opportunity.objects.bulk_update(rows, ["board_rank"], batch_size=1000)


def _neighbour(column, value, field):
    pk = _obj_id(value)
    if pk is None:
        return None
    row = column.filter(pk=pk).values("pk", "board_rank").first()
    if row is None:
        raise _invalid(field, _("That card is not in the target column any more. Reload the "
                                "board."), code="neighbour")
    return row


def _rank_between(column, *, after=None, before=None, exclude=None):
    """A board_rank that puts a card after `after` and/or before `before` (opportunity ids
    in `column`); without either, at the top of the column."""
    if exclude is not None:
        column = column.exclude(pk=exclude)
    for attempt in range(2):
        low = _neighbour(column, after, "after")
        high = _neighbour(column, before, "before")
        ordered = column.order_by("board_rank", "id")
        if low is not None and high is None:
            high = (ordered.filter(Q(board_rank__gt=low["board_rank"])
                                   | Q(board_rank=low["board_rank"], pk__gt=low["pk"]))
                    .values("pk", "board_rank").first())
        elif high is not None and low is None:
            low = (column.filter(Q(board_rank__lt=high["board_rank"])
                                 | Q(board_rank=high["board_rank"], pk__lt=high["pk"]))
                   .order_by("-board_rank", "-id").values("pk", "board_rank").first())
        elif low is None and high is None:
            top = column.aggregate(top=Min("board_rank"))["top"]
            return RANK_STEP if top is None else top - RANK_STEP
        if high is None:
            return low["board_rank"] + RANK_STEP
        if low is None:
            return high["board_rank"] - RANK_STEP
        if high["board_rank"] - low["board_rank"] > MIN_RANK_GAP:
            return (low["board_rank"] + high["board_rank"]) / 2
        if attempt == 0:
            _renumber(column)
    raise _invalid("after", _("These cards cannot be ordered that way."), code="neighbour")


def _bottom_rank(column):
    bottom = column.aggregate(bottom=Max("board_rank"))["bottom"]
    return RANK_STEP if bottom is None else bottom + RANK_STEP


# --- Stages --------------------------------------------------------------------------------


def pipeline_stages(pipeline):
    return list(PipelineStage.objects.filter(pipeline=pipeline).order_by("position", "id"))


def _stage_of(pipeline, value, field="stage_id"):
    pk = _obj_id(value)
    stage = PipelineStage.objects.filter(pipeline=pipeline, pk=pk).first() if pk else None
    if stage is None:
        raise _not_found(field, _("No such stage in this pipeline."))
    return stage


def _first_open_stage(pipeline):
    stage = (PipelineStage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN)
             .order_by("position", "id").first())
    if stage is None:
        raise SalesError(_("The pipeline has no open stage."), code="no_stage",
                         field="pipeline_id")
    return stage


def _closing_stage(pipeline, kind):
    stage = (PipelineStage.objects.filter(pipeline=pipeline, kind=kind)
             .order_by("position", "id").first())
    if stage is None:
        message = (_("The pipeline has no won stage.") if kind == StageKind.WON
                   else _("The pipeline has no lost stage."))
        raise SalesError(message, code="no_stage", field="stage_id")
    return stage


# --- Create and update ---------------------------------------------------------------------


def _clean_line(organization, *, description="", quantity=1, unit_price=0,
                discount_percent=0, product=None, **unknown):
    if unknown:
        raise SalesError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    product_row = None
    if _obj_id(product) is not None:
        product_row = products_for_supplier(supplier=organization).filter(
            pk=_obj_id(product)).first()
        if product_row is None:
            raise _not_found("product_id", _("No such product in your catalog."))
    description = _text(description, 200) or (product_row.name[:200] if product_row else "")
    if not description:
        raise _invalid("description", _("Describe the line or choose a product."),
                       code="required")
    try:
        quantity = int(str(quantity).strip())
    except (TypeError, ValueError):
        quantity = 0
    if not 1 <= quantity <= 10**9:
        raise _invalid("quantity", _("Quantity is a whole number of at least 1."))
    try:
        price = Decimal(str(unit_price).strip())
    except (InvalidOperation, ValueError):
        price = Decimal("-1")
    if not price.is_finite() or price < 0 or price > MAX_AMOUNT:
        raise _invalid("unit_price", _("Enter a unit price of 0 or more."))
    try:
        discount = Decimal(str(discount_percent or 0).strip())
    except (InvalidOperation, ValueError):
        discount = Decimal("-1")
    if not discount.is_finite() or not 0 <= discount <= 100:
        raise _invalid("discount_percent", _("Discount is a percentage from 0 to 100."))
    price = price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    discount = discount.quantize(CENT, rounding=ROUND_HALF_UP)
    amount = (price * quantity * (100 - discount) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount > MAX_AMOUNT:
        raise _invalid("quantity", _("The line amount is too large."))
    return {"product": product_row, "description": description, "quantity": quantity,
            "unit_price": price, "discount_percent": discount, "amount": amount}


def _recompute_amount(opportunity):
    total = sum((line.amount for line in OpportunityLine.objects.filter(
        opportunity=opportunity)), Decimal("0"))
    if total > MAX_AMOUNT:
        raise _invalid("amount", _("The amount is too large."))
    opportunity.amount = total


def opportunity_create(*, organization, actor, name, account, close_date, amount=None,
                       currency=None, pipeline=None, stage=None, owner=None, team=None,
                       contact=None, lines=(), lead=None, campaign=None, next_step="",
                       next_step_on=None, probability=None, forecast_category=None,
                       competitors=()):
    """Open a deal. Defaults: the default pipeline's first open stage, the actor as owner,
    the organization's currency. With `lines` (dicts: description, quantity, unit_price,
    discount_percent, product), the amount is their sum."""
    name = _text(name, 200)
    if not name:
        raise _invalid("name", _("Give the opportunity a name."), code="required")
    account = _account(organization, account)
    contact = _contact(organization, contact)
    close_date = _date(close_date, "close_date")
    if close_date is None:
        raise _invalid("close_date", _("Give the expected close date."), code="required")
    amount = _money(amount)
    currency = _currency(currency) if currency else organization_currency(organization)
    pipeline = _pipeline(organization, pipeline) or default_pipeline(organization)
    stage = _stage_of(pipeline, stage) if _obj_id(stage) is not None else _first_open_stage(
        pipeline)
    if stage.kind != StageKind.OPEN:
        raise _invalid("stage_id", _("A new opportunity starts in an open stage."))
    if _obj_id(owner) is not None:
        owner_user = member_user(organization, owner)
    else:  # the actor when it is a member (not for system or API-only actors)
        owner_user = _user(actor)
        if owner_user is not None and not Membership.objects.filter(
                organization=organization, user=owner_user, is_active=True).exists():
            owner_user = None
    team = _team(organization, team)
    campaign = _campaign(organization, campaign)
    lead_row = _in_org(Lead, organization, lead, "lead_id",
                       _("No such lead in this organization."))
    probability = _probability(probability)
    if forecast_category not in (None, "") and forecast_category not in OPEN_CATEGORIES:
        raise _invalid("forecast_category", _("Choose a forecast category."))
    competitor_rows = _competitors(organization, competitors)
    lines = list(lines or ())
    if len(lines) > MAX_LINES:
        raise _invalid("lines", _("At most 200 lines."))
    clean_lines = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise _invalid("lines", _("Each line needs a description, quantity and price."))
        try:
            clean_lines.append(_clean_line(organization, **line))
        except ValidationError as error:
            raise ValidationError({f"lines.{index}.{field}": messages
                                   for field, messages in error.message_dict.items()}) from None
    now = timezone.now()
    with transaction.atomic():
        column = _column(organization.pk, pipeline.pk, stage.pk)
        opportunity = Opportunity(
            organization=organization, name=name, account=account, contact=contact,
            pipeline=pipeline, stage=stage, amount=amount or Decimal("0"), currency=currency,
            probability=probability,
            forecast_category=forecast_category or stage.forecast_category,
            close_date=close_date, owner=owner_user, team=team,
            next_step=_text(next_step, 200),
            next_step_on=_date(next_step_on, "next_step_on"), lead=lead_row, campaign=campaign,
            stage_entered_at=now, board_rank=_bottom_rank(column), created_at=now,
            updated_at=now)
        _save(opportunity)
        if clean_lines:
            OpportunityLine.objects.bulk_create([
                OpportunityLine(opportunity=opportunity, position=index, **line)
                for index, line in enumerate(clean_lines, 1)])
            _recompute_amount(opportunity)
            _save(opportunity, update_fields=["amount"])
        if competitor_rows:
            opportunity.competitors.set(competitor_rows)
        OpportunityStageChange.objects.create(
            opportunity=opportunity, from_stage=None, to_stage=stage, seconds_in_previous=0,
            amount=opportunity.amount, changed_by=_user(actor), changed_at=now)
        _emit("created", opportunity, actor, after=_state(opportunity),
              lead_id=opportunity.lead_id, campaign_id=opportunity.campaign_id,
              pipeline_id=pipeline.pk)
    return opportunity


def opportunity_update(*, opportunity, actor, version, **changes):
    """Change fields (see UPDATABLE; the stage moves with `opportunity_move`). With lines the
    amount is their sum and cannot be set by hand."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise SalesError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    organization = opportunity.organization
    with transaction.atomic():
        locked = _lock(opportunity, version)
        before = _state(locked)
        before_competitors = sorted(locked.competitors.values_list("pk", flat=True))
        competitor_rows = None
        for field, value in changes.items():
            if field == "name":
                locked.name = _text(value, 200)
                if not locked.name:
                    raise _invalid("name", _("Give the opportunity a name."), code="required")
            elif field == "account":
                locked.account = _account(organization, value)
            elif field == "contact":
                locked.contact = _contact(organization, value)
            elif field == "amount":
                amount = _money(value)
                if amount is None:
                    raise _invalid("amount", _("Enter an amount, e.g. 1500000."),
                                   code="required")
                if amount != locked.amount and locked.lines.exists():
                    raise _invalid("amount", _("The amount is the sum of the lines; change "
                                               "the lines instead."), code="from_lines")
                locked.amount = amount
            elif field == "currency":
                locked.currency = _currency(value)
            elif field == "close_date":
                locked.close_date = _date(value, "close_date")
                if locked.close_date is None:
                    raise _invalid("close_date", _("Give the expected close date."),
                                   code="required")
            elif field == "owner":
                locked.owner = member_user(organization, value) if value not in (
                    None, "") else None
            elif field == "team":
                locked.team = _team(organization, value)
            elif field == "next_step":
                locked.next_step = _text(value, 200)
            elif field == "next_step_on":
                locked.next_step_on = _date(value, "next_step_on")
            elif field == "probability":
                locked.probability = _probability(value)
            elif field == "forecast_category":
                if locked.status != OpportunityStatus.OPEN:
                    raise _invalid("forecast_category", _("A closed deal's forecast category "
                                                          "follows its stage."))
                if value not in OPEN_CATEGORIES:
                    raise _invalid("forecast_category", _("Choose a forecast category."))
                locked.forecast_category = value
            elif field == "campaign":
                locked.campaign = _campaign(organization, value)
            elif field == "competitors":
                competitor_rows = _competitors(organization, value)
        after = _state(locked)
        changed = sorted(key for key in after if after[key] != before[key])
        if competitor_rows is not None and sorted(
                row.pk for row in competitor_rows) != before_competitors:
            changed.append("competitors")
            locked.competitors.set(competitor_rows)
        if not changed:
            return locked
        _touch(locked)
        _save(locked)
        _emit("updated", locked, actor,
              before={key: before[key] for key in changed if key in before},
              after={key: after[key] for key in changed if key in after}, changed=changed)
    return locked


# --- Move, close, reopen -------------------------------------------------------------------


def opportunity_move(*, opportunity, actor, stage, after=None, before=None, version=None):
    """Move an open deal to `stage` (same pipeline, an open stage) and/or place it between
    the cards `after` and `before` (opportunity ids in the target column). Without either
    neighbour a card changing column goes to the top; the same column without neighbours
    changes nothing."""
    with transaction.atomic():
        locked = _lock(opportunity, version)
        if locked.status != OpportunityStatus.OPEN:
            raise SalesError(_("A closed deal does not move; reopen it first."), code="closed",
                             field="stage_id")
        target = _stage_of(locked.pipeline, stage)
        if target.kind != StageKind.OPEN:
            raise SalesError(_("Close the deal as won or lost to move it there."),
                             code="use_close", field="stage_id")
        same_stage = target.pk == locked.stage_id
        if same_stage and _obj_id(after) is None and _obj_id(before) is None:
            return locked
        column = _column(locked.organization_id, locked.pipeline_id, target.pk)
        rank = _rank_between(column, after=after, before=before, exclude=locked.pk)
        now = timezone.now()
        if same_stage:
            locked.board_rank = rank
            locked.version += 1
            locked.save(update_fields=["board_rank", "version"])
            return locked
        from_stage = locked.stage
        seconds = _record_stage(locked, from_stage, target, actor, now)
        locked.board_rank = rank
        locked.probability = None
        if locked.forecast_category != ForecastCategory.OMITTED or (
                from_stage.forecast_category == ForecastCategory.OMITTED):
            locked.forecast_category = target.forecast_category
        _touch(locked, now)
        _save(locked)
        _emit("moved", locked, actor, before={"stage_id": from_stage.pk},
              after={"stage_id": target.pk}, from_stage_id=from_stage.pk,
              from_stage=from_stage.name, seconds_in_previous=seconds)
    return locked


def close_reasons(organization, kind):
    return CloseReason.objects.filter(organization=organization, kind=kind, is_active=True)


def opportunity_close(*, opportunity, actor, won, reason=None, note="", lost_to=None,
                      hub_order=None, version=None):
    """Close as won (the pipeline's won stage) or lost (its lost stage; a reason from the
    organization's list is required when it has one, otherwise a note)."""
    organization = opportunity.organization
    kind = StageKind.WON if won else StageKind.LOST
    note = str(note or "").strip()[:2000]
    reason_row = _in_org(CloseReason, organization, reason, "reason_id",
                         _("No such reason in this organization."), kind=kind, is_active=True)
    lost_to_row = None
    if not won:
        lost_to_row = _in_org(Competitor, organization, lost_to, "lost_to_id",
                              _("No such competitor in this organization."))
        if reason_row is None:
            if close_reasons(organization, StageKind.LOST).exists():
                raise _invalid("reason_id", _("Choose why the deal was lost."), code="required")
            if not note:
                raise _invalid("note", _("Say why the deal was lost."), code="required")
    elif hub_order is not None and getattr(hub_order, "supplier_id", None) != organization.pk:
        raise _not_found("hub_order_id", _("No such order for this organization."))
    with transaction.atomic():
        locked = _lock(opportunity, version)
        if (locked.status == OpportunityStatus.WON and won and hub_order is not None
                and locked.hub_order_id in (None, hub_order.pk)):
            # Idempotent: the accepted quote's order again, or the order of a deal won by hand.
            if locked.hub_order_id is None:
                locked.hub_order = hub_order
                _touch(locked)
                _save(locked)
                _emit("updated", locked, actor, after={"hub_order_id": hub_order.pk},
                      changed=["hub_order"], hub_order_id=hub_order.pk)
            return locked
        if locked.status != OpportunityStatus.OPEN and not (
                won and hub_order is not None and locked.status == OpportunityStatus.LOST):
            raise SalesError(_("This deal is already closed."), code="closed", field="status")
        stage = _closing_stage(locked.pipeline, kind)
        now = timezone.now()
        before = {"status": locked.status, "stage_id": locked.stage_id}
        from_stage = locked.stage
        seconds = _record_stage(locked, from_stage, stage, actor, now)
        locked.status = OpportunityStatus.WON if won else OpportunityStatus.LOST
        locked.forecast_category = stage.forecast_category
        locked.probability = None
        locked.close_reason = reason_row
        locked.close_note = note
        locked.lost_to = lost_to_row
        locked.closed_at = now
        if hub_order is not None:
            locked.hub_order = hub_order
        _touch(locked, now)
        _save(locked)
        _emit("won" if won else "lost", locked, actor, before=before,
              after={"status": locked.status, "stage_id": stage.pk,
                     "reason_id": reason_row.pk if reason_row else None, "note": note,
                     "lost_to_id": lost_to_row.pk if lost_to_row else None,
                     "hub_order_id": locked.hub_order_id},
              from_stage_id=from_stage.pk, seconds_in_previous=seconds,
              reason=reason_row.name if reason_row else note[:200],
              lost_to=lost_to_row.name if lost_to_row else "",
              hub_order_id=locked.hub_order_id)
    return locked


def opportunity_reopen(*, opportunity, actor, stage=None, version=None):
    """Reopen a closed deal into `stage` (default: the last open stage it was in)."""
    with transaction.atomic():
        locked = _lock(opportunity, version)
        if locked.status == OpportunityStatus.OPEN:
            raise SalesError(_("This deal is open already."), code="open", field="status")
        if _obj_id(stage) is not None:
            target = _stage_of(locked.pipeline, stage)
            if target.kind != StageKind.OPEN:
                raise _invalid("stage_id", _("Reopen into an open stage."))
        else:
            last = (OpportunityStageChange.objects.filter(
                opportunity=locked, to_stage__kind=StageKind.OPEN)
                .select_related("to_stage").order_by("-changed_at", "-id").first())
            target = last.to_stage if last is not None else _first_open_stage(locked.pipeline)
        now = timezone.now()
        before = {"status": locked.status, "stage_id": locked.stage_id}
        from_stage = locked.stage
        seconds = _record_stage(locked, from_stage, target, actor, now)
        locked.status = OpportunityStatus.OPEN
        locked.forecast_category = target.forecast_category
        locked.close_reason = None
        locked.close_note = ""
        locked.lost_to = None
        locked.closed_at = None
        locked.board_rank = _rank_between(
            _column(locked.organization_id, locked.pipeline_id, target.pk), exclude=locked.pk)
        _touch(locked, now)
        _save(locked)
        _emit("reopened", locked, actor, before=before,
              after={"status": locked.status, "stage_id": target.pk},
              from_stage_id=from_stage.pk, seconds_in_previous=seconds)
    return locked


# --- Lines ---------------------------------------------------------------------------------


def _line_state(line):
    return {"description": line.description, "quantity": line.quantity,
            "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent),
            "product_id": line.product_id, "amount": str(line.amount)}


def _after_lines(locked, actor, action, line_state, line_id):
    before_amount = locked.amount
    _recompute_amount(locked)
    _touch(locked)
    _save(locked)
    _emit("updated", locked, actor, before={"amount": str(before_amount)},
          after={"amount": str(locked.amount), action: line_state, "line_id": line_id},
          changed=["lines"] + (["amount"] if locked.amount != before_amount else []))


def opportunity_line_add(*, opportunity, actor, version=None, **fields):
    organization = opportunity.organization
    clean = _clean_line(organization, **fields)
    with transaction.atomic():
        locked = _lock(opportunity, version)
        position = (OpportunityLine.objects.filter(opportunity=locked)
                    .aggregate(top=Max("position"))["top"] or 0) + 1
        if position > MAX_LINES:
            raise _invalid("lines", _("At most 200 lines."))
        line = OpportunityLine.objects.create(opportunity=locked, position=position, **clean)
        _after_lines(locked, actor, "line_added", _line_state(line), line.pk)
    return line


def opportunity_line_update(*, line, actor, version=None, **changes):
    """Change a line (version: the opportunity's)."""
    organization = line.opportunity.organization
    current = {"description": line.description, "quantity": line.quantity,
               "unit_price": line.unit_price, "discount_percent": line.discount_percent,
               "product": line.product_id}
    unknown = set(changes) - set(current)
    if unknown:
        raise SalesError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    current.update(changes)
    clean = _clean_line(organization, **current)
    with transaction.atomic():
        locked = _lock(line.opportunity, version)
        row = OpportunityLine.objects.select_for_update().filter(
            pk=line.pk, opportunity=locked).first()
        if row is None:
            raise _not_found("line_id", _("No such line."))
        for field, value in clean.items():
            setattr(row, field, value)
        row.save()
        _after_lines(locked, actor, "line_changed", _line_state(row), row.pk)
    return row


def opportunity_line_remove(*, line, actor, version=None):
    with transaction.atomic():
        locked = _lock(line.opportunity, version)
        row = OpportunityLine.objects.filter(pk=line.pk, opportunity=locked).first()
        if row is None:
            raise _not_found("line_id", _("No such line."))
        state = _line_state(row)
        line_id = row.pk
        row.delete()
        _after_lines(locked, actor, "line_removed", state, line_id)
    return locked


# --- Pipeline settings ---------------------------------------------------------------------


def ensure_close_reasons(organization):
    """Give an organization without any close reasons the default list (idempotent)."""
    if CloseReason.objects.filter(organization=organization).exists():
        return
    CloseReason.objects.bulk_create(
        [CloseReason(organization=organization, kind=kind, name=str(name))
         for kind, name in DEFAULT_CLOSE_REASONS], ignore_conflicts=True)


def _settings_event(organization, actor, action, obj, payload):
    audit_record(actor=actor, organization=organization, action=action, obj=obj, after=payload)
    emit_event(type=action, organization=organization, aggregate=obj, actor=_user(actor),
               payload=payload)


def pipeline_save(*, organization, actor, pipeline=None, name, stale_after_days=30,
                  is_default=False):
    """Create (pipeline=None: with the default stages) or rename/configure a pipeline."""
    name = _text(name, 100)
    if not name:
        raise _invalid("name", _("Give the pipeline a name."), code="required")
    try:
        days = int(str(stale_after_days).strip())
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= 3650:
        raise _invalid("stale_after_days", _("Stale after is a number of days from 1 to "
                                             "3650."))
    if pipeline is not None and pipeline.organization_id != organization.pk:
        raise _not_found("pipeline_id", _("No such pipeline in this organization."))
    from .leads import DEFAULT_STAGES

    with transaction.atomic():
        created = pipeline is None
        if is_default:
            Pipeline.objects.filter(organization=organization, is_default=True).exclude(
                pk=getattr(pipeline, "pk", None)).update(is_default=False)
        pipeline = pipeline or Pipeline(organization=organization)
        pipeline.name, pipeline.stale_after_days = name, days
        if is_default or created and not Pipeline.objects.filter(organization=organization,
                                                     is_default=True).exists():
            pipeline.is_default = True
        try:
            with transaction.atomic():
                pipeline.save()
        except IntegrityError:
            raise _invalid("name", _("A pipeline with this name exists already."),
                           code="duplicate") from None
        if created:
            PipelineStage.objects.bulk_create([
                PipelineStage(pipeline=pipeline, name=str(stage_name), position=index,
                              probability=probability, kind=kind, forecast_category=category)
                for index, (stage_name, probability, kind, category)
                in enumerate(DEFAULT_STAGES, 1)])
            ensure_close_reasons(organization)
        _settings_event(organization, actor,
                        "sales.pipeline." + ("created" if created else "updated"), pipeline,
                        {"name": pipeline.name, "stale_after_days": days,
                         "default": pipeline.is_default})
    return pipeline


def pipeline_archive(*, pipeline, actor):
    organization = pipeline.organization
    with transaction.atomic():
        locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        if locked.is_default:
            raise SalesError(_("Make another pipeline the default first."), code="default",
                             field="pipeline_id")
        if Opportunity.objects.filter(pipeline=locked, status=OpportunityStatus.OPEN).exists():
            raise SalesError(_("Close or move the open deals of this pipeline first."),
                             code="in_use", field="pipeline_id")
        locked.archived_at = timezone.now()
        locked.save(update_fields=["archived_at"])
        _settings_event(organization, actor, "sales.pipeline.archived", locked,
                        {"name": locked.name})
    return locked


def stage_save(*, pipeline, actor, stage=None, name, probability, kind=StageKind.OPEN,
               forecast_category=None, position=None):
    organization = pipeline.organization
    name = _text(name, 60)
    if not name:
        raise _invalid("name", _("Give the stage a name."), code="required")
    probability = _probability(probability)
    if probability is None:
        raise _invalid("probability", _("Probability is a whole number from 0 to 100."),
                       code="required")
    if kind not in StageKind.values:
        raise _invalid("kind", _("Choose open, won or lost."))
    defaults = {StageKind.OPEN: ForecastCategory.PIPELINE, StageKind.WON: ForecastCategory.CLOSED,
                StageKind.LOST: ForecastCategory.OMITTED}
    forecast_category = forecast_category or defaults[kind]
    allowed = {StageKind.OPEN: OPEN_CATEGORIES, StageKind.WON: (ForecastCategory.CLOSED,),
               StageKind.LOST: (ForecastCategory.OMITTED,)}[kind]
    if forecast_category not in allowed:
        raise _invalid("forecast_category", _("This forecast category does not fit the stage "
                                              "kind."))
    if stage is not None and stage.pipeline_id != pipeline.pk:
        raise _not_found("stage_id", _("No such stage in this pipeline."))
    with transaction.atomic():
        Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
        created = stage is None
        if stage is not None and stage.kind != kind and Opportunity.objects.filter(
                stage=stage).exists():
            raise _invalid("kind", _("Deals are in this stage; its kind cannot change."),
                           code="in_use")
        if created:
            top = PipelineStage.objects.filter(pipeline=pipeline).aggregate(
                top=Max("position"))["top"] or 0
            stage = PipelineStage(pipeline=pipeline, position=top + 1)
        if position not in (None, ""):
            try:
                stage.position = max(0, min(int(position), 32000))
            except (TypeError, ValueError):
                raise _invalid("position", _("Position is a whole number.")) from None
        stage.name, stage.probability = name, probability
        stage.kind, stage.forecast_category = kind, forecast_category
        try:
            with transaction.atomic():
                stage.save()
        except IntegrityError:
            raise _invalid("name", _("A stage with this name exists already."),
                           code="duplicate") from None
        _settings_event(organization, actor,
                        "sales.stage." + ("created" if created else "updated"), stage,
                        {"name": name, "pipeline_id": pipeline.pk, "probability": probability,
                         "kind": kind, "forecast_category": forecast_category})
    return stage


def stages_reorder(*, pipeline, actor, stage_ids):
    stages = {stage.pk: stage for stage in pipeline_stages(pipeline)}
    ids = [_obj_id(value) for value in stage_ids]
    if sorted(ids, key=lambda x: x or 0) != sorted(stages):
        raise _invalid("stage_ids", _("List every stage of the pipeline once."))
    with transaction.atomic():
        for position, pk in enumerate(ids, 1):
            stages[pk].position = position
        PipelineStage.objects.bulk_update(stages.values(), ["position"])
        _settings_event(pipeline.organization, actor, "sales.pipeline.updated", pipeline,
                        {"name": pipeline.name, "stage_ids": ids})
    return pipeline_stages(pipeline)


def stage_delete(*, stage, actor):
    pipeline = stage.pipeline
    with transaction.atomic():
        Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
        if Opportunity.objects.filter(stage=stage).exists() or \
                OpportunityStageChange.objects.filter(Q(to_stage=stage)
                                                      | Q(from_stage=stage)).exists():
            raise SalesError(_("Deals have been in this stage; it cannot be deleted."),
                             code="in_use", field="stage_id")
        if stage.kind == StageKind.OPEN and not PipelineStage.objects.filter(
                pipeline=pipeline, kind=StageKind.OPEN).exclude(pk=stage.pk).exists():
            raise SalesError(_("A pipeline needs at least one open stage."), code="last_open",
                             field="stage_id")
        _settings_event(pipeline.organization, actor, "sales.stage.deleted", stage,
                        {"name": stage.name, "pipeline_id": pipeline.pk})
        stage.delete()


def close_reason_save(*, organization, actor, reason=None, kind, name, is_active=True):
    name = _text(name, 100)
    if not name:
        raise _invalid("name", _("Give the reason a name."), code="required")
    if kind not in (StageKind.WON, StageKind.LOST):
        raise _invalid("kind", _("A reason is for won or for lost deals."))
    if reason is not None and reason.organization_id != organization.pk:
        raise _not_found("reason_id", _("No such reason in this organization."))
    with transaction.atomic():
        created = reason is None
        reason = reason or CloseReason(organization=organization)
        reason.kind, reason.name, reason.is_active = kind, name, bool(is_active)
        try:
            with transaction.atomic():
                reason.save()
        except IntegrityError:
            raise _invalid("name", _("This reason exists already."), code="duplicate") from None
        _settings_event(organization, actor,
                        "sales.close_reason." + ("created" if created else "updated"), reason,
                        {"name": name, "kind": kind, "is_active": reason.is_active})
    return reason


def competitor_save(*, organization, actor, competitor=None, name):
    name = _text(name, 100)
    if not name:
        raise _invalid("name", _("Give the competitor a name."), code="required")
    if competitor is not None and competitor.organization_id != organization.pk:
        raise _not_found("competitor_id", _("No such competitor in this organization."))
    with transaction.atomic():
        created = competitor is None
        competitor = competitor or Competitor(organization=organization)
        competitor.name = name
        try:
            with transaction.atomic():
                competitor.save()
        except IntegrityError:
            raise _invalid("name", _("This competitor exists already."),
                           code="duplicate") from None
        _settings_event(organization, actor,
                        "sales.competitor." + ("created" if created else "updated"),
                        competitor, {"name": name})
    return competitor


def competitor_delete(*, competitor, actor):
    organization = competitor.organization
    with transaction.atomic():
        _settings_event(organization, actor, "sales.competitor.deleted", competitor,
                        {"name": competitor.name})
        competitor.delete()  # deals keep their history; lost_to is set null


# --- Stale-deal alerts ---------------------------------------------------------------------


def opportunities_alert_stale(*, now=None, batch=500):
    """Notify owners of open deals untouched (no move, no change) for their pipeline's
    stale_after_days — once per stale spell. Returns how many alerts were sent."""
    now = now or timezone.now()
    sent = 0
    for pipeline in Pipeline.objects.filter(archived_at__isnull=True).select_related(
            "organization").order_by("id"):
        cutoff = now - datetime.timedelta(days=pipeline.stale_after_days)
        candidates = list(
            Opportunity.objects.filter(organization_id=pipeline.organization_id,
                                       pipeline=pipeline, status=OpportunityStatus.OPEN,
                                       stage_entered_at__lt=cutoff, updated_at__lt=cutoff,
                                       stale_alerted_at__isnull=True)
            .select_related("owner", "stage", "organization").order_by("stage_entered_at")
            [:batch])
        for opportunity in candidates:
            with transaction.atomic():
                claimed = Opportunity.objects.filter(
                    pk=opportunity.pk, status=OpportunityStatus.OPEN,
                    stale_alerted_at__isnull=True, updated_at__lt=cutoff,
                    stage_entered_at__lt=cutoff).update(stale_alerted_at=now)
                if not claimed:
                    continue
                days = (now - max(opportunity.stage_entered_at, opportunity.updated_at)).days
                if opportunity.owner is not None:
                    notify(organization=opportunity.organization, user=opportunity.owner,
                           kind="sales.stale",
                           title=_("Deal %(name)s has not moved for %(days)s days") % {
                               "name": opportunity.name[:120], "days": days},
                           key=f"sales-stale:{opportunity.pk}:{now.date().isoformat()}",
                           url=opportunity_url(opportunity.pk))
                emit_event(type="sales.opportunity.stale", organization=opportunity.organization,
                           aggregate=opportunity, payload=_payload(opportunity, days=days))
                sent += 1
    return sent


def opportunity_url(pk):
    try:
        return reverse("sales:opportunity_detail", args=[pk])
    except NoReverseMatch:  # pages not installed (API-only deployments, early merges)
        return ""


def stale_queryset(organization):
    """Open deals of the organization alerted as stale in their current spell."""
    return Opportunity.objects.filter(organization=organization, status=OpportunityStatus.OPEN,
                                      stale_alerted_at__isnull=False)

