"""Segments: sets of contacts (and their accounts) for campaigns and promotions.

A **dynamic** segment is rules; a **static** one is a list kept by hand. Rules are JSON:

    {"match": "all" | "any",
     "conditions": [
        {"field": "account.industry", "op": "equals", "value": "Retail"},
        {"field": "account.custom.region", "op": "in", "value": ["JK", "JB"]},
        {"field": "contact.email_opt_in", "op": "is_true"},
        {"field": "purchase.recency_days", "op": "lte", "value": 30},
        {"field": "purchase.frequency", "op": "gte", "value": 3, "months": 12},
        {"match": "any", "conditions": [...]}          # a nested group, up to 3 levels
     ]}

Fields: account and contact fields (`ACCOUNT_FIELDS`, `CONTACT_FIELDS`), account tags, CRM
custom fields (`account.custom.<key>` / `contact.custom.<key>`, operators by the field's type)
and purchase behaviour on the hub of the account's linked buyer (`purchase.*`, read through
`jalin.hub.promotion_selectors.buyer_purchase_stats`, one grouped query):

- `recency_days`: days since the buyer's last order (never ordered: no value, no match);
- `frequency` / `monetary`: orders / net order value in the last `months` months (default 12;
  an account without a linked buyer or orders has 0);
- `r_score`, `f_score`, `m_score`: 1-5 by quintile among the supplier's buyers that ordered
  (5 = most recent / most frequent / highest value).

Refreshing (`segment_refresh`) rewrites `SegmentMember` in one transaction with set-based
statements — one DELETE of those no longer matching, one INSERT … SELECT of the new ones, one
UPDATE of changed accounts — never row by row, so it scales to a million contacts. Running it
twice changes nothing. `segments_refresh_due` (a housekeeping job) refreshes dynamic segments
hourly; a refresh also re-syncs the buyers of promotions that target the segment.

Services are keyword-only, own their transaction, write the audit log and emit
`sales.segment.*`; bad rules raise `SalesError` naming the condition (`rules.conditions[2]`).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Exists, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.params import int_param
from jalin.crm.models import Account, Contact, CustomFieldDefinition, CustomFieldType
from jalin.hub import promotion_selectors as hub_reads
from jalin.hub import promotions as hub_promotions
from jalin.tenancy.services import StaleVersion

from .leads import SalesError
from .models import PromotionSegment, Segment, SegmentKind, SegmentMember

MAX_CONDITIONS = 50
MAX_DEPTH = 3
MAX_IN_VALUES = 200
MAX_STATIC_BATCH = 10_000
REFRESH_EVERY = datetime.timedelta(hours=1)
REFRESH_BATCH = 50
DEFAULT_MONTHS = 12

ACCOUNT_FIELDS = {
    "name": gettext_lazy("Account name"), "industry": gettext_lazy("Industry"),
    "size": gettext_lazy("Size"), "tier": gettext_lazy("Tier"),
    "status": gettext_lazy("Account status"), "website": gettext_lazy("Website"),
    "tag": gettext_lazy("Account tag"), "owner": gettext_lazy("Account owner (user id)"),
}
CONTACT_FIELDS = {
    "first_name": gettext_lazy("First name"), "last_name": gettext_lazy("Last name"),
    "job_title": gettext_lazy("Job title"), "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"), "relationship_role": gettext_lazy("Role"),
    "email_opt_in": gettext_lazy("Agrees to email"),
}
PURCHASE_FIELDS = {
    "recency_days": gettext_lazy("Days since the last order"),
    "frequency": gettext_lazy("Orders in the last N months"),
    "monetary": gettext_lazy("Order value in the last N months"),
    "r_score": gettext_lazy("Recency score (1-5)"),
    "f_score": gettext_lazy("Frequency score (1-5)"),
    "m_score": gettext_lazy("Monetary score (1-5)"),
}
OPERATORS = {
    "equals": gettext_lazy("equals"), "not_equals": gettext_lazy("does not equal"),
    "contains": gettext_lazy("contains"), "starts_with": gettext_lazy("starts with"),
    "in": gettext_lazy("is one of"), "is_set": gettext_lazy("is filled in"),
    "is_not_set": gettext_lazy("is empty"), "is_true": gettext_lazy("is yes"),
    "is_false": gettext_lazy("is no"), "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
}
TEXT_OPS = ("equals", "not_equals", "contains", "starts_with", "in", "is_set", "is_not_set")
NUMBER_OPS = ("equals", "not_equals", "gt", "gte", "lt", "lte", "is_set", "is_not_set")
BOOLEAN_OPS = ("is_true", "is_false")
NO_VALUE = ("is_set", "is_not_set", "is_true", "is_false")


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _error(path, message, code="invalid_rules"):
    return SalesError(message, code=code, field=path)


# --- Rules: checking ------------------------------------------------------------------------


def field_choices(organization):
    """[(field, label, kind)] a rule may use, custom fields included (for the form and API)."""
    choices = [(f"account.{key}", label, "number" if key == "owner" else "text")
               for key, label in ACCOUNT_FIELDS.items()]
    choices += [(f"contact.{key}", label,
                 "boolean" if key == "email_opt_in" else "text")
                for key, label in CONTACT_FIELDS.items()]
    for definition in CustomFieldDefinition.objects.filter(organization=organization,
                                                           active=True):
        choices.append((f"{definition.target}.custom.{definition.key}",
                        f"{definition.get_target_display()}: {definition.label}",
                        _custom_kind(definition.type)))
    choices += [(f"purchase.{key}", label, "number") for key, label in PURCHASE_FIELDS.items()]
    return choices


def _custom_kind(field_type):
    if field_type == CustomFieldType.NUMBER:
        return "number"
    if field_type == CustomFieldType.DATE:
        return "date"
    if field_type == CustomFieldType.BOOLEAN:
        return "boolean"
    if field_type == CustomFieldType.MULTI_CHOICE:
        return "multi"
    return "text"


def _kinds(organization):
    return {name: kind for name, _label, kind in field_choices(organization)}


def _number(value, path):
    if isinstance(value, bool):
        raise _error(path, _("Enter a number."))
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise _error(path, _("Enter a number.")) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise _error(path, _("Enter a number."))
    return int(number) if number == number.to_integral_value() else float(number)


def _clean_condition(condition, kinds, path):
    if not isinstance(condition, dict):
        raise _error(path, _("Each condition is an object."))
    name = condition.get("field")
    if name not in kinds:
        raise _error(path, _("Unknown field: %(field)s.") % {"field": str(name)[:80]})
    kind = kinds[name]
    op = condition.get("op")
    allowed = {"text": TEXT_OPS, "number": NUMBER_OPS, "date": NUMBER_OPS,
               "boolean": BOOLEAN_OPS, "multi": ("contains", "is_set", "is_not_set")}[kind]
    if name.startswith("purchase."):
        allowed = ("equals", "not_equals", "gt", "gte", "lt", "lte")
    if op not in allowed:
        raise _error(path, _("%(field)s cannot be compared with “%(op)s”.") % {
            "field": name, "op": str(op)[:20]})
    clean = {"field": name, "op": op}
    if op not in NO_VALUE:
        value = condition.get("value")
        if op == "in":
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",")]
            if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
                raise _error(path, _("Give a list of 1 to 200 values."))
            value = [str(item).strip()[:200] for item in value if str(item).strip()]
            if not value:
                raise _error(path, _("Give a list of 1 to 200 values."))
        elif kind == "number":
            value = _number(value, path)
        elif kind == "date":
            try:
                value = datetime.date.fromisoformat(str(value).strip()).isoformat()
            except ValueError:
                raise _error(path, _("Enter a date as YYYY-MM-DD.")) from None
        else:
            if value is None or isinstance(value, (dict, list)) or not str(value).strip():
                raise _error(path, _("Give a value to compare with."))
            value = str(value).strip()[:200]
        clean["value"] = value
    if name in ("purchase.frequency", "purchase.monetary"):
        months = condition.get("months", DEFAULT_MONTHS)
        try:
            months = int(months)
        except (TypeError, ValueError):
            raise _error(path, _("Months must be a whole number from 1 to 120.")) from None
        if not 1 <= months <= 120:
            raise _error(path, _("Months must be a whole number from 1 to 120."))
        clean["months"] = months
    return clean


def clean_rules(organization, rules, *, kinds=None, path="rules", depth=1, counter=None):
    """The rules in their stored form; SalesError naming the bad condition otherwise."""
    kinds = kinds if kinds is not None else _kinds(organization)
    counter = counter if counter is not None else [0]
    if rules in (None, ""):
        rules = {}
    if not isinstance(rules, dict):
        raise _error(path, _("Rules are an object with “match” and “conditions”."))
    match = rules.get("match", "all")
    if match not in ("all", "any"):
        raise _error(f"{path}.match", _("Match is “all” or “any”."))
    conditions = rules.get("conditions", [])
    if not isinstance(conditions, list):
        raise _error(f"{path}.conditions", _("Conditions are a list."))
    cleaned = []
    for index, condition in enumerate(conditions):
        here = f"{path}.conditions[{index}]"
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise _error(here, _("At most %(max)s conditions.") % {"max": MAX_CONDITIONS})
        if isinstance(condition, dict) and "conditions" in condition:
            if depth >= MAX_DEPTH:
                raise _error(here, _("Groups nest at most three levels deep."))
            cleaned.append(clean_rules(organization, condition, kinds=kinds, path=here,
                                       depth=depth + 1, counter=counter))
        else:
            cleaned.append(_clean_condition(condition, kinds, here))
    return {"match": match, "conditions": cleaned}


# --- Rules: evaluating ----------------------------------------------------------------------


def _text_q(lookup, op, value):
    if op == "equals":
        return Q(**{f"{lookup}__iexact": value})
    if op == "not_equals":
        return ~Q(**{f"{lookup}__iexact": value})
    if op == "contains":
        return Q(**{f"{lookup}__icontains": value})
    if op == "starts_with":
        return Q(**{f"{lookup}__istartswith": value})
    if op == "in":
        query = Q()
        for item in value:
            query |= Q(**{f"{lookup}__iexact": item})
        return query
    if op == "is_set":
        return Q(**{f"{lookup}__isnull": False}) & ~Q(**{lookup: ""})
    return Q(**{f"{lookup}__isnull": True}) | Q(**{lookup: ""})


def _compare_q(lookup, op, value):
    if op == "equals":
        return Q(**{lookup: value})
    if op == "not_equals":
        return ~Q(**{lookup: value})
    if op in ("gt", "gte", "lt", "lte"):
        return Q(**{f"{lookup}__{op}": value})
    if op == "is_set":
        return Q(**{f"{lookup}__isnull": False})
    return Q(**{f"{lookup}__isnull": True})


def _custom_q(target, key, kind, op, value):
    prefix = "account__custom" if target == "account" else "custom"
    lookup = f"{prefix}__{key}"
    if op == "is_set":
        return Q(**{f"{prefix}__has_key": key}) & ~Q(**{lookup: ""}) & ~Q(**{lookup: []})
    if op == "is_not_set":
        return ~Q(**{f"{prefix}__has_key": key}) | Q(**{lookup: ""}) | Q(**{lookup: []})
    if kind == "boolean":
        return Q(**{lookup: op == "is_true"})
    if kind == "multi":  # stored as a JSON list of strings
        return Q(**{f"{lookup}__icontains": f'"{value}"'})
    if kind in ("number", "date"):
        return _compare_q(lookup, op, value)
    return _text_q(lookup, op, value)


def _satisfies(number, op, value):
    if number is None:
        return False
    return {"equals": number == value, "not_equals": number != value, "gt": number > value,
            "gte": number >= value, "lt": number < value, "lte": number <= value}[op]


def quintile_scores(values, *, higher_is_better=True):
    """{key: 1..5} by quintile of `values` ({key: number}): the rank from worst (0) to best
    (n − 1) spread over 1-5, so the best is always 5 and the worst 1 (a lone buyer is 5);
    ties share the lower score."""
    ordered = sorted(values.items(), key=lambda item: item[1],
                     reverse=not higher_is_better)
    count = len(ordered)
    if count == 1:
        return {ordered[0][0]: 5}
    first_rank = {}
    for rank, (_key, value) in enumerate(ordered):
        first_rank.setdefault(value, rank)
    return {key: 1 + int(Decimal("4.999") * first_rank[value] / (count - 1))
            for key, value in ordered}


class _Purchases:
    """Purchase behaviour of the supplier's buyers, read once per months value."""

    def __init__(self, organization, now):
        self.organization, self.now, self._stats = organization, now, {}

    def stats(self, months):
        if months not in self._stats:
            self._stats[months] = hub_reads.buyer_purchase_stats(
                supplier_id=self.organization.pk, months=months, now=self.now)
        return self._stats[months]

    def values(self, metric, months):
        """{buyer_id: value} for buyers that ever ordered, and the value of all others."""
        stats = self.stats(months)
        if metric == "recency_days":
            return ({buyer: (self.now - row.last_order_at).days
                     for buyer, row in stats.items() if row.last_order_at}, None)
        if metric == "frequency":
            return {buyer: row.orders for buyer, row in stats.items()}, 0
        if metric == "monetary":
            return {buyer: row.monetary for buyer, row in stats.items()}, Decimal(0)
        # Scores: among buyers that ordered, over the default window.
        if metric == "r_score":
            days = {buyer: (self.now - row.last_order_at).days
                    for buyer, row in stats.items() if row.last_order_at}
            return quintile_scores(days, higher_is_better=False), None
        if metric == "f_score":
            return quintile_scores({b: r.orders for b, r in stats.items()}), None
        return quintile_scores({b: r.monetary for b, r in stats.items()}), None


def _purchase_q(condition, purchases):
    metric = condition["field"].split(".", 1)[1]
    months = condition.get("months", DEFAULT_MONTHS)
    by_buyer, others = purchases.values(metric, months)
    op, value = condition["op"], condition["value"]
    value = Decimal(str(value)) if metric == "monetary" else value
    passing = [buyer for buyer, number in by_buyer.items() if _satisfies(number, op, value)]
    if _satisfies(others, op, value):
        # Contacts without a linked buyer (or whose buyer never ordered) match too: exclude
        # only the buyers that fail.
        failing = [buyer for buyer, number in by_buyer.items()
                   if not _satisfies(number, op, value)]
        return ~Q(account__hub_organization_id__in=failing)
    return Q(account__hub_organization_id__in=passing)


def _condition_q(organization, condition, kinds, purchases):
    name, op, value = condition["field"], condition["op"], condition.get("value")
    source, _dot, rest = name.partition(".")
    if source == "purchase":
        return _purchase_q(condition, purchases)
    if rest.startswith("custom."):
        key = rest.split(".", 1)[1]
        return _custom_q(source, key, kinds.get(name, "text"), op, value)
    if source == "account":
        if rest == "tag":
            tags = Account.tags.through.objects.filter(account_id=OuterRef("account_id"))
            if op in ("is_set", "is_not_set"):
                query = Q(Exists(tags))
                return query if op == "is_set" else ~query
            return Q(Exists(tags.filter(_text_q("tag__name", op, value)))) \
                if op != "not_equals" else ~Q(Exists(tags.filter(tag__name__iexact=value)))
        if rest == "owner":
            return _compare_q("account__owner_id", op, value)
        return _text_q(f"account__{rest}", op, value)
    if rest == "email_opt_in":
        return Q(email_opt_in=op == "is_true")
    return _text_q(rest, op, value)


def _rules_q(organization, rules, kinds, purchases):
    parts = []
    for condition in rules.get("conditions", []):
        if "conditions" in condition:
            parts.append(_rules_q(organization, condition, kinds, purchases))
        else:
            parts.append(_condition_q(organization, condition, kinds, purchases))
    if not parts:
        return Q()
    query = parts[0]
    for part in parts[1:]:
        query = (query | part) if rules.get("match") == "any" else (query & part)
    return query


def contacts_base(organization):
    """The organization's live contacts (not archived, not merged away)."""
    return Contact.objects.filter(organization=organization, archived_at__isnull=True,
                                  merged_into__isnull=True)


def matching_contacts(organization, rules, *, now=None):
    """A queryset of the contacts the rules select (rules already cleaned or not)."""
    kinds = _kinds(organization)
    rules = clean_rules(organization, rules, kinds=kinds)
    purchases = _Purchases(organization, now or timezone.now())
    return contacts_base(organization).filter(_rules_q(organization, rules, kinds, purchases))


def preview_count(*, organization, rules):
    """How many contacts the rules would select now."""
    return matching_contacts(organization, rules).count()


# --- Services -------------------------------------------------------------------------------


def _snapshot(segment):
    return {"name": segment.name, "kind": segment.kind, "rules": segment.rules}


def _record(*, actor, segment, action, before=None, after=None, payload=None):
    audit_record(actor=actor, organization=segment.organization, action=action, obj=segment,
                 before=before, after=after)
    emit_event(type=action, organization=segment.organization, aggregate=segment, actor=actor,
               payload={"segment_id": segment.pk, "name": segment.name, **(payload or {})})


def _clean_name(name):
    name = " ".join(str(name or "").split())
    if not name:
        raise SalesError(_("Give the segment a name."), code="required", field="name")
    if len(name) > 120:
        raise SalesError(_("The name is too long (at most 120 characters)."), field="name")
    return name


def _save(segment):
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError as exc:
        raise SalesError(_("Another segment already has this name."), code="duplicate_name",
                         field="name") from exc


def segment_create(*, organization, actor, name, kind=SegmentKind.DYNAMIC, rules=None):
    if kind not in SegmentKind.values:
        raise SalesError(_("Kind is “dynamic” or “static”."), field="kind")
    segment = Segment(organization=organization, name=_clean_name(name), kind=kind,
                      rules=clean_rules(organization, rules) if kind == SegmentKind.DYNAMIC
                      else {})
    with transaction.atomic():
        _save(segment)
        _record(actor=actor, segment=segment, action="sales.segment.created",
                after=_snapshot(segment), payload={"kind": segment.kind})
    return segment


def _lock(segment, version=None):
    locked = Segment.objects.select_for_update().select_related("organization").get(
        pk=segment.pk)
    if version is not None and locked.version != int(version):
        raise StaleVersion()
    return locked


def segment_update(*, segment, actor, version, name=None, rules=None):
    """Rename and/or change the rules (dynamic segments); the members follow on refresh."""
    with transaction.atomic():
        locked = _lock(segment, version)
        before = _snapshot(locked)
        if name is not None:
            locked.name = _clean_name(name)
        if rules is not None:
            if locked.kind != SegmentKind.DYNAMIC:
                raise SalesError(_("A static list has no rules."), field="rules")
            locked.rules = clean_rules(locked.organization, rules)
        locked.version += 1
        _save(locked)
        _record(actor=actor, segment=locked, action="sales.segment.updated", before=before,
                after=_snapshot(locked))
    return locked


def segment_delete(*, segment, actor):
    with transaction.atomic():
        locked = _lock(segment)
        _record(actor=actor, segment=locked, action="sales.segment.deleted",
                before=_snapshot(locked))
        try:
            with transaction.atomic():
                locked.delete()
        except ProtectedError as exc:
            raise SalesError(_("Campaigns use this segment; it cannot be deleted."),
                             code="in_use", field="segment") from exc


def _insert_members(segment, contacts, now):
    """INSERT … SELECT the contacts not yet members (one statement); returns rows added."""
    new = (contacts.exclude(pk__in=SegmentMember.objects.filter(segment=segment)
                            .values("contact_id"))
           .annotate(new_segment=Value(segment.pk, output_field=IntegerField()),
                     new_contact=F("pk"), new_account=F("account_id"),
                     new_at=Value(now, output_field=DateTimeField()))
           .values_list("new_segment", "new_contact", "new_account", "new_at"))
    sql, params = new.query.sql_with_params()
    table = connection.ops.quote_name(SegmentMember._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id, account_id, added_at) {sql}",
            params)
        return cursor.rowcount


def segment_refresh(*, segment, actor=None, now=None):
    """Rewrite a dynamic segment's members from its rules (set-based, one transaction);
    a static list only gets its count refreshed. Re-syncs promotions targeting it. Returns
    the segment with `member_count` and `refreshed_at` set and `added`/`removed` counts."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(segment)
        added = removed = 0
        if locked.kind == SegmentKind.DYNAMIC:
            contacts = matching_contacts(locked.organization, locked.rules, now=now)
            removed, _detail = (SegmentMember.objects.filter(segment=locked)
                                .exclude(contact_id__in=contacts.values("pk")).delete())
            added = _insert_members(locked, contacts, now)
            # Members whose contact moved to another account since they joined (one UPDATE).
            same = Contact.objects.filter(pk=OuterRef("contact_id"),
                                          account_id=OuterRef("account_id"))
            both_empty = Q(account_id__isnull=True) & ~Exists(Contact.objects.filter(
                pk=OuterRef("contact_id"), account_id__isnull=False))
            SegmentMember.objects.filter(segment=locked).exclude(Exists(same)).exclude(
                both_empty).update(account_id=Subquery(
                    Contact.objects.filter(pk=OuterRef("contact_id")).values("account_id")[:1]))
        locked.member_count = SegmentMember.objects.filter(segment=locked).count()
        locked.refreshed_at = now
        locked.save(update_fields=["member_count", "refreshed_at"])
        if added or removed:
            emit_event(type="sales.segment.refreshed", organization=locked.organization,
                       aggregate=locked, actor=actor,
                       payload={"segment_id": locked.pk, "members": locked.member_count,
                                "added": added, "removed": removed})
        for link in PromotionSegment.objects.filter(segment=locked).select_related(
                "promotion"):
            if link.promotion.is_active and link.promotion.ends_on >= timezone.localdate():
                _sync_promotion(link, actor=actor, now=now)
    locked.added, locked.removed = added, removed
    return locked


def segments_refresh_due(*, now=None, batch=REFRESH_BATCH):
    """Housekeeping: refresh dynamic segments not refreshed for an hour. Returns how many."""
    now = now or timezone.now()
    due = Segment.objects.filter(kind=SegmentKind.DYNAMIC).filter(
        Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=now - REFRESH_EVERY)).order_by(
        "refreshed_at", "pk")[:batch]
    count = 0
    for segment in due:
        segment_refresh(segment=segment, now=now)
        count += 1
    return count


def _contact_ids(organization, contacts):
    ids = []
    for value in contacts or ():
        try:
            ids.append(int(getattr(value, "pk", value)))
        except (TypeError, ValueError):
            raise SalesError(_("Not a valid contact id."), code="invalid",
                             field="contact_ids") from None
    ids = sorted(set(ids))
    if len(ids) > MAX_STATIC_BATCH:
        raise SalesError(_("At most %(max)s contacts at a time.") % {"max": MAX_STATIC_BATCH},
                         field="contact_ids")
    found = dict(contacts_base(organization).filter(pk__in=ids).values_list("pk",
                                                                            "account_id"))
    if len(found) != len(ids):
        raise SalesError(_("No such contact."), code="not_found", field="contact_ids")
    return found


def segment_add_contacts(*, segment, actor, contacts):
    """Add contacts to a static list (those already in it are left as they are)."""
    with transaction.atomic():
        locked = _lock(segment)
        if locked.kind != SegmentKind.STATIC:
            raise SalesError(_("Only static lists take contacts by hand."), code="not_static",
                             field="segment")
        found = _contact_ids(locked.organization, contacts)
        existing = set(SegmentMember.objects.filter(segment=locked, contact_id__in=found)
                       .values_list("contact_id", flat=True))
        SegmentMember.objects.bulk_create([
            SegmentMember(segment=locked, contact_id=pk, account_id=account_id)
            for pk, account_id in found.items() if pk not in existing])
        added = len(found) - len(existing)
        locked.member_count = SegmentMember.objects.filter(segment=locked).count()
        locked.version += 1
        locked.save(update_fields=["member_count", "version"])
        _record(actor=actor, segment=locked, action="sales.segment.members_added",
                payload={"added": added, "members": locked.member_count})
    return locked


def segment_remove_contacts(*, segment, actor, contacts):
    with transaction.atomic():
        locked = _lock(segment)
        if locked.kind != SegmentKind.STATIC:
            raise SalesError(_("Only static lists take contacts by hand."), code="not_static",
                             field="segment")
        ids = [number for number in (int_param(getattr(value, "pk", value), positive=True)
                                     for value in contacts or ()) if number]
        removed, _detail = SegmentMember.objects.filter(segment=locked,
                                                        contact_id__in=ids).delete()
        locked.member_count = SegmentMember.objects.filter(segment=locked).count()
        locked.version += 1
        locked.save(update_fields=["member_count", "version"])
        _record(actor=actor, segment=locked, action="sales.segment.members_removed",
                payload={"removed": removed, "members": locked.member_count})
    return locked


# --- Promotions' customer segment -------------------------------------------------------------


def segment_buyer_ids(segment):
    """The hub buyers linked to the accounts of the segment's members."""
    return sorted(set(
        SegmentMember.objects.filter(segment=segment, account__hub_organization__isnull=False)
        .values_list("account__hub_organization_id", flat=True).distinct()))


def _sync_promotion(link, *, actor, now):
    _promotion, kept = hub_promotions.promotion_set_buyers(
        promotion=link.promotion, actor=actor, buyers=segment_buyer_ids(link.segment),
        source=f"sales.segment:{link.segment_id}")
    link.buyer_count, link.synced_at = len(kept), now
    link.save(update_fields=["buyer_count", "synced_at"])
    return kept


def promotion_target_segment(*, promotion, segment, actor):
    """Target a hub promotion at a segment: its buyers become the segment's accounts' linked
    buyers (through the hub's service), now and on every refresh of the segment. Only
    buyers trading with the supplier are kept; none means no one gets the promotion."""
    if promotion.supplier_id != segment.organization_id:
        raise SalesError(_("No such promotion."), code="not_found", field="promotion")
    now = timezone.now()
    with transaction.atomic():
        segment = segment_refresh(segment=segment, actor=actor, now=now)
        link, _created = PromotionSegment.objects.update_or_create(
            promotion=promotion, defaults={"segment": segment,
                                           "organization_id": segment.organization_id})
        kept = _sync_promotion(link, actor=actor, now=now)
        audit_record(actor=actor, organization=segment.organization,
                     action="sales.promotion.targeted", obj=segment,
                     after={"promotion": promotion.pk, "buyers": kept})
        emit_event(type="sales.promotion.targeted", organization=segment.organization,
                   aggregate=segment, actor=actor,
                   payload={"promotion_id": promotion.pk, "segment_id": segment.pk,
                            "buyers": len(kept)})
    return link


def promotion_untarget(*, promotion, actor):
    """Stop following a segment; the promotion keeps the buyers it has."""
    with transaction.atomic():
        deleted, _detail = PromotionSegment.objects.filter(promotion=promotion).delete()
        if deleted:
            audit_record(actor=actor, organization=promotion.supplier,
                         action="sales.promotion.untargeted", obj=promotion)
    return bool(deleted)
