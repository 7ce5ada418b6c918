"""What the BRM register pages share — requirements and business cases, changes affecting
customers, the opportunity register and the CSI register: reading request input, the pick
lists, keyset pages, CSV export, and `RegisterPages`, one register's pages declared once
(list, export, new, the detail form, edit, lifecycle buttons) with the views built from it.

Views stay thin: reads through `register_selectors`, writes through the register services —
the same services as the JSON API. Input a person can fix answers 400 (409 for a stale
version, 403 for a role that may not change it) with the form and the message, and changes
nothing.
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.crm.models import Account
from jalin.crm.selectors import keyset_page
from jalin.service.models import Service
from jalin.tenancy.access import for_org
from jalin.tenancy.decorators import org_required
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, has_perm

from . import register_selectors as selectors
from .register_base import RegisterError, StaleVersion

PER_PAGE = 50
EXPORT_LIMIT = 50_000
ACCOUNT_CHOICES_LIMIT = 500


# --- Reading request input -----------------------------------------------------------------


def int_or_none(value):
    """An id from request input (None unless above zero; clamped past 64 bits)."""
    return int_param(value, positive=True)


def choice(value, choices):
    return value if value in choices.values else None


def _safe_date(value):
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def period_of(request):
    start, end = _safe_date(request.GET.get("from")), _safe_date(request.GET.get("to"))
    return selectors.Period(start=start, end=end) if (start or end) else None


def post_fk(request, name):
    raw = (request.POST.get(name) or "").strip()
    if not raw:
        return None
    return int_or_none(raw) or -1  # -1: no such record → the service answers "choose one"


def post_fields(request, texts, fks=()):
    """The POSTed `texts` as sent ("" when missing) and the ids picked for `fks`."""
    fields = {name: request.POST.get(name, "") for name in texts}
    fields.update({name: post_fk(request, name) for name in fks})
    return fields


def can_edit(request):
    return has_perm(request.membership, BRM_EDIT)


# --- Pick lists ----------------------------------------------------------------------------


def account_choices(organization, *, used_by=None, selected=None):
    """(id, name) of the customers to pick from: those a register uses (filters) or the
    first ACCOUNT_CHOICES_LIMIT by name (forms), plus the selected one."""
    queryset = for_org(Account, organization)
    if used_by is not None:
        queryset = queryset.filter(pk__in=used_by.values("account_id"))
    rows = list(queryset.order_by("name", "id").values_list("id", "name")
                [:ACCOUNT_CHOICES_LIMIT])
    if selected and all(row[0] != selected for row in rows):
        extra = for_org(Account, organization).filter(pk=selected).values_list("id", "name")
        rows = list(extra) + rows
    return rows


def service_choices(organization):
    return list(for_org(Service, organization).order_by("name", "id")
                .values_list("id", "name")[:ACCOUNT_CHOICES_LIMIT])


def member_choices(organization):
    return [(m.user_id, m.user.get_full_name() or m.user.get_username())
            for m in Membership.objects.filter(organization=organization, is_active=True)
            .select_related("user").order_by("user__username")[:ACCOUNT_CHOICES_LIMIT]]


def action_choices(moves, record, actions_for):
    """(name, label) of the lifecycle buttons `record` offers; none on a new record."""
    return [(name, str(moves[name].label)) for name in actions_for(record)] if record else []


# --- Lists, CSV and errors -----------------------------------------------------------------


def list_query(request):
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return query.urlencode()


def page_of(request, queryset, sorts, default):
    sort = request.GET.get("sort")
    sort = sort if sort in sorts else default
    page = keyset_page(queryset, order=sorts[sort], after=request.GET.get("after"),
                       before=request.GET.get("before"), per_page=PER_PAGE)
    return page, sort


def csv_response(filename, header, rows):
    writer = csv.writer(Echo())

    def stream():
        yield "\ufeff"
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def iso(value):
    return value.isoformat() if value else ""


def error_status(error):
    if isinstance(error, StaleVersion):
        return 409
    return 403 if error.code == "forbidden" else 400


def duration_text(delta):
    """A response time as "2 d 3 h" / "3 h 5 min" / "4 min"."""
    if delta is None:
        return ""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


# --- One register's pages ------------------------------------------------------------------


def _no_fields(request, action):
    return {}


@dataclass(frozen=True)
class CsvExport:
    filename: str
    header: tuple
    row: Callable  # record → its cells
    order: tuple  # the export's order (newest first), whatever the list's sort
    prefetch: tuple = ()


@dataclass(frozen=True)
class RegisterPages:
    """The pages of one register. `name` ("change") is the record's key in the form's
    context, the keyword its services take (`change_update(change=...)`) and the start of
    its URL names (brm:change_detail); `section` is the menu section."""

    name: str
    section: str
    model: type  # the list's customer filter offers the customers this register uses
    # The list and its CSV: filters(request) → the selector's keywords.
    select: Callable  # selector(organization=..., **filters) → queryset
    filters: Callable
    sorts: dict
    default_sort: str
    list_template: str
    list_context: Callable  # request → the list's own choices
    export: CsvExport
    # One record: get(organization=..., pk=...) answers 404 for another organization's.
    get: Callable
    form_template: str
    form_context: Callable  # (request, record or None) → the form's own context
    # Writes: services called with organization/actor (create) or the record and its
    # version (update, transition) and the keywords the *_fields functions read.
    create: Callable
    create_fields: Callable  # request → keywords
    created: Callable  # record → the message
    update: Callable
    update_fields: Callable  # request → keywords
    saved: object  # the message (lazy)
    transition: Callable | None = None
    transition_fields: Callable = _no_fields  # (request, action) → keywords
    moved: object = ""  # the message (lazy)
    transition_refused: Callable | None = None  # (request, record, **error) → page; the form
    dated: bool = True  # the list filters by a from/to period
    annotate: Callable | None = None  # called with the list page's records

    # --- reading

    def queryset(self, request):
        filters = self.filters(request)
        return self.select(organization=request.organization, **filters), filters

    def list_page(self, request):
        queryset, filters = self.queryset(request)
        page, sort = page_of(request, queryset, self.sorts, self.default_sort)
        if self.annotate is not None:
            self.annotate(page.items)
        context = {
            "page": page, "sort": sort, "filters": filters, "query": list_query(request),
            "accounts": account_choices(request.organization,
                                        used_by=for_org(self.model, request.organization)),
            "can_edit": can_edit(request), "section": self.section,
            **self.list_context(request),
        }
        if self.dated:
            context["date_from"] = request.GET.get("from", "")
            context["date_to"] = request.GET.get("to", "")
        return render(request, self.list_template, context)

    def export_csv(self, request):
        queryset, _filters = self.queryset(request)
        export = self.export
        if export.prefetch:
            queryset = queryset.prefetch_related(*export.prefetch)
        records = queryset.order_by(*export.order)[:EXPORT_LIMIT].iterator(chunk_size=500)
        return csv_response(export.filename, export.header,
                            (export.row(record) for record in records))

    def form(self, request, record=None, *, status=200, error=None, field=None):
        selected = record.account_id if record else int_or_none(
            request.POST.get("account") or request.GET.get("account"))
        return render(request, self.form_template, {
            self.name: record, "error": error, "error_field": field, "data": request.POST,
            "accounts": account_choices(request.organization, selected=selected),
            "selected_account": selected, "services": service_choices(request.organization),
            "section": self.section, **self.form_context(request, record),
        }, status=status)

    # --- writing

    def _refused(self, request, record, exc):
        return self.form(request, record, status=error_status(exc), error=exc.message,
                         field=exc.field)

    def _done(self, request, message, record):
        messages.success(request, message)
        return redirect(f"brm:{self.name}_detail", pk=record.pk)

    def create_page(self, request):
        if request.method == "GET":
            return self.form(request)
        try:
            record = self.create(organization=request.organization, actor=request.user,
                                 **self.create_fields(request))
        except (RegisterError, StaleVersion) as exc:
            return self._refused(request, None, exc)
        return self._done(request, self.created(record), record)

    def save(self, request, record):
        try:
            self.update(**{self.name: record}, actor=request.user,
                        version=int_or_none(request.POST.get("version")) or 0,
                        **self.update_fields(request))
        except (RegisterError, StaleVersion) as exc:
            return self._refused(request, record, exc)
        return self._done(request, str(self.saved), record)

    def detail_page(self, request, pk):
        """The record's form: everyone with brm.view reads it, brm.edit saves it."""
        record = self.get(organization=request.organization, pk=pk)
        if request.method == "GET":
            return self.form(request, record)
        if not can_edit(request):
            return self.form(request, record, status=403,
                             error=_("Your role does not allow changes here."))
        return self.save(request, record)

    def edit_page(self, request, pk):
        record = self.get(organization=request.organization, pk=pk)
        if request.method == "GET":
            return self.form(request, record)
        return self.save(request, record)

    def transition_page(self, request, pk):
        record = self.get(organization=request.organization, pk=pk)
        action = request.POST.get("action", "")
        try:
            self.transition(**{self.name: record}, action=action, actor=request.user,
                            version=int_or_none(request.POST.get("version")) or 0,
                            **self.transition_fields(request, action))
        except (RegisterError, StaleVersion) as exc:
            if self.transition_refused is not None:
                return self.transition_refused(request, record, status=error_status(exc),
                                               error=exc.message, field=exc.field)
            return self._refused(request, record, exc)
        return self._done(request, str(self.moved), record)

    # --- the views (urls.py names them)

    def _view(self, method, suffix, perm, allow):
        def view(request, *args, **kwargs):
            return method(request, *args, **kwargs)

        view.__name__ = view.__qualname__ = f"{self.name}_{suffix}"
        return org_required(perm)(allow(view))

    def list_view(self):
        return self._view(self.list_page, "list", BRM_VIEW, require_GET)

    def export_view(self):
        return self._view(self.export_csv, "export", BRM_VIEW, require_GET)

    def create_view(self):
        return self._view(self.create_page, "create", BRM_EDIT,
                          require_http_methods(["GET", "POST"]))

    def detail_view(self):
        return self._view(self.detail_page, "detail", BRM_VIEW,
                          require_http_methods(["GET", "POST"]))

    def edit_view(self):
        return self._view(self.edit_page, "edit", BRM_EDIT,
                          require_http_methods(["GET", "POST"]))

    def transition_view(self):
        return self._view(self.transition_page, "transition", BRM_EDIT, require_POST)
