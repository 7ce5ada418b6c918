"""CRM pages: account and contact lists (filters, sort, keyset pages, CSV export), detail
pages, create/edit forms with custom fields, and the custom field admin page.

Thin views: reads through `jalin.crm.selectors` (scoped by organization, 404 for foreign
ids), writes through `jalin.crm.services`; a refused write re-renders the form with 400 (409
when someone else saved first) and changes nothing.
"""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW, ORG_MANAGE, has_perm

from . import selectors, services
from .custom_fields import definitions_for, display_value
from .forms import (
    AccountForm,
    ContactForm,
    CustomFieldEditForm,
    CustomFieldForm,
    ListFilterForm,
    add_service_error,
)
from .models import Account, Contact, CustomFieldDefinition, CustomFieldTarget
from .panels import account_panels, contact_panels
from .search.views import list_tools

PER_PAGE = 50
CUSTOM_FILTER_PREFIX = "cf_"


def _filters(request):
    form = ListFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    custom = {key.removeprefix(CUSTOM_FILTER_PREFIX): value
              for key, value in request.GET.items()
              if key.startswith(CUSTOM_FILTER_PREFIX) and value}
    account = request.GET.get("account", "")[:18]  # more digits would overflow a bigint
    filters = selectors.Filters(
        q=data.get("q") or "", status=data.get("status") or "", tier=data.get("tier") or "",
        owner=data.get("owner"), tag=data.get("tag") or "",
        relationship_role=data.get("role") or "",
        account=int_param(account, positive=True), custom=custom,
    )
    sort = data.get("sort") or "name"
    return form, filters, sort


FILTERABLE_TYPES = ("choice", "multi_choice", "boolean")


def _custom_filter_fields(request, target):
    """Selects for the choice-like custom fields, with the value currently filtered on."""
    fields = []
    for definition in definitions_for(organization=request.organization, target=target):
        if definition.type not in FILTERABLE_TYPES:
            continue
        options = (["true", "false"] if definition.type == "boolean" else definition.choices)
        fields.append({"name": CUSTOM_FILTER_PREFIX + definition.key, "label": definition.label,
                       "options": options,
                       "value": request.GET.get(CUSTOM_FILTER_PREFIX + definition.key, "")})
    return fields


def _owner_choices(request):
    return list(request.organization.memberships.filter(is_active=True)
                .select_related("user").order_by("user__username")
                .values_list("user_id", "user__username"))


def _is_filtered(request, names):
    return any(request.GET.get(name) for name in names) or any(
        key.startswith(CUSTOM_FILTER_PREFIX) and value for key, value in request.GET.items())


def _can_edit(request):
    return has_perm(request.membership, CRM_EDIT)


@org_required(CRM_VIEW)
@require_GET
def home(request):
    return redirect("crm:account_list")


# --- Accounts ------------------------------------------------------------------------------


@org_required(CRM_VIEW)
@require_GET
def account_list(request):
    form, filters, sort = _filters(request)
    queryset = selectors.accounts_list(organization=request.organization, filters=filters)
    page = selectors.keyset_page(queryset, order=selectors.ACCOUNT_SORTS[sort],
                                 after=request.GET.get("after"),
                                 before=request.GET.get("before"), per_page=PER_PAGE,
                                 fence=bool(filters.q))
    return render(request, "crm/account_list.html", {
        "page": page, "filter_form": form, "can_edit": _can_edit(request),
        "custom_filters": _custom_filter_fields(request, CustomFieldTarget.ACCOUNT),
        "owner_choices": _owner_choices(request),
        "is_filtered": _is_filtered(request, ("q", "status", "tier", "owner", "tag")),
        **list_tools(request, "account"),
    })


@org_required(CRM_VIEW)
@require_GET
def account_detail(request, pk):
    account, contacts, children = selectors.account_detail(organization=request.organization,
                                                           pk=pk)
    definitions = definitions_for(organization=request.organization,
                                  target=CustomFieldTarget.ACCOUNT)
    return render(request, "crm/account_detail.html", {
        "account": account, "contacts": contacts, "children": children,
        "custom_values": selectors.custom_values_for_display(definitions, account.custom),
        "can_edit": _can_edit(request),
        "related_panels": account_panels(membership=request.membership, account=account,
                                         user=request.user, request=request),
    })


def _account_form_page(request, *, account=None):
    organization = request.organization
    definitions = definitions_for(organization=organization, target=CustomFieldTarget.ACCOUNT)
    form = AccountForm(request.POST or None, instance=account or Account(),
                       organization=organization, definitions=definitions)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                if account is None:
                    account = services.account_create(
                        organization=organization, actor=request.user, tags=form.tags(),
                        custom=form.custom_values(), **form.service_fields())
                    messages.success(request, _("Account %s created.") % account.name)
                else:
                    account = services.account_update(
                        account=account, actor=request.user,
                        version=form.cleaned_data.get("version") or 0, tags=form.tags(),
                        custom=form.custom_values(), **form.service_fields())
                    messages.success(request, _("Account %s saved.") % account.name)
                return redirect("crm:account_detail", pk=account.pk)
            except services.StaleVersion as error:
                form.add_error(None, error.message)
                status = 409
            except (services.CrmError, ValidationError) as error:
                add_service_error(form, error)
    return render(request, "crm/account_form.html", {"form": form, "account": account},
                  status=status)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def account_create(request):
    return _account_form_page(request)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def account_edit(request, pk):
    account = get_for_org_or_404(Account.objects.filter(archived_at__isnull=True),
                                 request.organization, pk=pk)
    return _account_form_page(request, account=account)


@org_required(CRM_EDIT)
@require_POST
def account_archive(request, pk):
    account = get_for_org_or_404(Account.objects.filter(archived_at__isnull=True),
                                 request.organization, pk=pk)
    services.account_archive(account=account, actor=request.user)
    messages.success(request, _("Account %s archived.") % account.name)
    return redirect("crm:account_list")


# --- Contacts ------------------------------------------------------------------------------


@org_required(CRM_VIEW)
@require_GET
def contact_list(request):
    form, filters, sort = _filters(request)
    queryset = selectors.contacts_list(organization=request.organization, filters=filters)
    page = selectors.keyset_page(queryset, order=selectors.CONTACT_SORTS[sort],
                                 after=request.GET.get("after"),
                                 before=request.GET.get("before"), per_page=PER_PAGE,
                                 fence=bool(filters.q))
    return render(request, "crm/contact_list.html", {
        "page": page, "filter_form": form, "can_edit": _can_edit(request),
        "custom_filters": _custom_filter_fields(request, CustomFieldTarget.CONTACT),
        "owner_choices": _owner_choices(request),
        "is_filtered": _is_filtered(request, ("q", "owner", "role", "account")),
        **list_tools(request, "contact"),
    })


@org_required(CRM_VIEW)
@require_GET
def contact_detail(request, pk):
    contact = selectors.contact_detail(organization=request.organization, pk=pk)
    definitions = definitions_for(organization=request.organization,
                                  target=CustomFieldTarget.CONTACT)
    return render(request, "crm/contact_detail.html", {
        "contact": contact,
        "custom_values": selectors.custom_values_for_display(definitions, contact.custom),
        "can_edit": _can_edit(request),
        "related_panels": contact_panels(membership=request.membership, contact=contact,
                                         user=request.user, request=request),
    })


def _contact_form_page(request, *, contact=None):
    organization = request.organization
    definitions = definitions_for(organization=organization, target=CustomFieldTarget.CONTACT)
    initial = {}
    account_id = int_param(request.GET.get("account"), positive=True)
    if contact is None and account_id:
        initial["account"] = account_id
    form = ContactForm(request.POST or None, instance=contact or Contact(), initial=initial,
                       organization=organization, definitions=definitions)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                if contact is None:
                    contact = services.contact_create(
                        organization=organization, actor=request.user,
                        custom=form.custom_values(), **form.service_fields())
                    messages.success(request, _("Contact %s created.") % contact.full_name)
                else:
                    contact = services.contact_update(
                        contact=contact, actor=request.user,
                        version=form.cleaned_data.get("version") or 0,
                        custom=form.custom_values(), **form.service_fields())
                    messages.success(request, _("Contact %s saved.") % contact.full_name)
                return redirect("crm:contact_detail", pk=contact.pk)
            except services.StaleVersion as error:
                form.add_error(None, error.message)
                status = 409
            except (services.CrmError, ValidationError) as error:
                add_service_error(form, error)
    return render(request, "crm/contact_form.html", {"form": form, "contact": contact},
                  status=status)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def contact_create(request):
    return _contact_form_page(request)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def contact_edit(request, pk):
    contact = get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True),
                                 request.organization, pk=pk)
    return _contact_form_page(request, contact=contact)


@org_required(CRM_EDIT)
@require_POST
def contact_delete(request, pk):
    contact = get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True),
                                 request.organization, pk=pk)
    services.contact_delete(contact=contact, actor=request.user)
    messages.success(request, _("Contact %s deleted.") % contact.full_name)
    return redirect("crm:contact_list")


# --- CSV export ----------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas; quote them."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_phone(text):
        return "'" + text
    return text


def _is_phone(text):
    return text.startswith("+") and text[1:].isdigit()


def _csv_response(filename, header, rows):
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # BOM, so spreadsheet programs read UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@org_required(CRM_VIEW)
@require_GET
def account_export(request):
    _form, filters, sort = _filters(request)
    organization = request.organization
    definitions = definitions_for(organization=organization, target=CustomFieldTarget.ACCOUNT)
    queryset = selectors.accounts_list(organization=organization, filters=filters) \
        .order_by(*selectors.ACCOUNT_SORTS[sort])
    header = ["id", "name", "status", "tier", "size", "industry", "owner", "parent_id",
              "tax_id", "website", "phone", "billing_address", "shipping_address", "tags",
              "updated_at"] + [f"custom.{d.key}" for d in definitions]

    def rows():
        for account in queryset.iterator(chunk_size=2000):
            yield [account.pk, account.name, account.status, account.tier, account.size,
                   account.industry, account.owner.get_username() if account.owner else "",
                   account.parent_id or "", account.tax_id, account.website, account.phone,
                   account.billing_address, account.shipping_address,
                   ", ".join(tag.name for tag in account.tags.all()),
                   account.updated_at.isoformat()] + [
                display_value(d, account.custom.get(d.key)) for d in definitions]

    return _csv_response("accounts.csv", header, rows())


@org_required(CRM_VIEW)
@require_GET
def contact_export(request):
    _form, filters, sort = _filters(request)
    organization = request.organization
    definitions = definitions_for(organization=organization, target=CustomFieldTarget.CONTACT)
    queryset = selectors.contacts_list(organization=organization, filters=filters) \
        .order_by(*selectors.CONTACT_SORTS[sort])
    header = ["id", "first_name", "last_name", "job_title", "email", "phone", "account_id",
              "account", "relationship_role", "email_opt_in", "phone_opt_in", "owner",
              "updated_at"] + [f"custom.{d.key}" for d in definitions]

    def rows():
        for contact in queryset.iterator(chunk_size=2000):
            yield [contact.pk, contact.first_name, contact.last_name, contact.job_title,
                   contact.email, contact.phone, contact.account_id or "",
                   contact.account.name if contact.account else "", contact.relationship_role,
                   contact.email_opt_in, contact.phone_opt_in,
                   contact.owner.get_username() if contact.owner else "",
                   contact.updated_at.isoformat()] + [
                display_value(d, contact.custom.get(d.key)) for d in definitions]

    return _csv_response("contacts.csv", header, rows())


# --- Custom field definitions (org admins) -------------------------------------------------


@org_required(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def custom_fields(request):
    organization = request.organization
    form = CustomFieldForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                definition = services.custom_field_define(
                    organization=organization, actor=request.user, target=data["target"],
                    key=data["key"], label=data["label"], type=data["type"],
                    choices=form.choices(), required=data["required"],
                    position=data.get("position") or 0)
            except (services.CrmError, ValidationError) as error:
                add_service_error(form, _choices_error(error))
            else:
                messages.success(request, _("Field %s added.") % definition.label)
                return redirect("crm:custom_fields")
    definitions = for_org(CustomFieldDefinition, organization).order_by("target", "position",
                                                                          "id")
    return render(request, "crm/custom_fields.html",
                  {"form": form, "definitions": definitions}, status=status)


def _choices_error(error):
    """The form calls the choice list `choices_text`."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict") \
            and "choices" in error.error_dict:
        return ValidationError({"choices_text": error.error_dict["choices"]})
    return error


@org_required(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def custom_field_edit(request, pk):
    definition = get_for_org_or_404(CustomFieldDefinition, request.organization, pk=pk)
    initial = {"version": definition.version, "label": definition.label,
               "choices_text": "\n".join(definition.choices), "required": definition.required,
               "position": definition.position, "active": definition.active}
    form = CustomFieldEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            changes = {"label": data["label"], "required": data["required"],
                       "position": data["position"], "active": data["active"]}
            if definition.type in ("choice", "multi_choice"):
                changes["choices"] = form.choices()
            try:
                services.custom_field_update(definition=definition, actor=request.user,
                                             version=data["version"], **changes)
            except services.StaleVersion as error:
                form.add_error(None, error.message)
                status = 409
            except (services.CrmError, ValidationError) as error:
                add_service_error(form, _choices_error(error))
            else:
                messages.success(request, _("Field %s saved.") % data["label"])
                return redirect("crm:custom_fields")
    return render(request, "crm/custom_field_form.html",
                  {"form": form, "definition": definition}, status=status)
