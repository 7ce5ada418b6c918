"""Pages for importing (upload → mapping → check → run, with a progress bar), vCard
downloads, the duplicates list and the side-by-side merge pages. Thin: the work is in
`services`, `merge`, `duplicates` and `vcard`."""

import csv

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import CRM_EDIT, CRM_VIEW

from .. import selectors
from ..custom_fields import definitions_for
from ..models import Account, Contact, ImportJob, ImportStatus
from ..services import CrmError, StaleVersion
from ..views import _cell, _filters
from . import duplicates, merge, services, vcard
from .fields import field_choices

PER_PAGE = 30


class UploadForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Import into"), choices=[
        ("contact", gettext_lazy("Contacts")), ("account", gettext_lazy("Accounts"))])
    format = forms.ChoiceField(label=gettext_lazy("File type"), choices=[
        ("csv", gettext_lazy("CSV (comma, semicolon or tab separated)")),
        ("vcard", gettext_lazy("vCard (.vcf)"))])
    file = forms.FileField(label=gettext_lazy("File"))


def _job(request, pk):
    return get_for_org_or_404(ImportJob.objects.select_related("created_by"),
                              request.organization, pk=pk)


@org_required(CRM_EDIT)
@require_GET
def import_list(request):
    queryset = for_org(ImportJob, request.organization).select_related("created_by")
    page = selectors.keyset_page(queryset, order=("-created_at", "-id"),
                                 after=request.GET.get("after"),
                                 before=request.GET.get("before"), per_page=PER_PAGE)
    return render(request, "crm/imports/list.html", {"page": page})


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def import_create(request):
    form = UploadForm(request.POST or None, request.FILES or None,
                      initial={"target": request.GET.get("target", "contact")})
    status = 200
    if request.method == "POST":
        status = 400
        uploaded = request.FILES.get("file")
        if uploaded is not None and uploaded.size > settings.JALIN_IMPORT_MAX_BYTES:
            form.is_valid()
            form.add_error("file", _("The file is larger than %(limit)d MB.")
                           % {"limit": settings.JALIN_IMPORT_MAX_BYTES // (1024 * 1024)})
            status = 413
        elif form.is_valid():
            data = form.cleaned_data
            try:
                job = services.import_create(
                    organization=request.organization, actor=request.user,
                    target=data["target"], format=data["format"], uploaded=data["file"])
            except CrmError as error:
                form.add_error("file" if error.field == "file" else None, error.message)
            else:
                if job.format == "vcard":
                    return redirect("crm:import_detail", pk=job.pk)
                return redirect("crm:import_mapping", pk=job.pk)
    return render(request, "crm/imports/create.html", {
        "form": form, "max_mb": settings.JALIN_IMPORT_MAX_BYTES // (1024 * 1024)},
        status=status)


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk):
    job = _job(request, pk)
    if job.format != "csv":
        return redirect("crm:import_detail", pk=job.pk)
    choices = field_choices(organization=request.organization, target=job.target)
    headers = job.mapping.get("headers", [])
    status = 200
    error = None
    if request.method == "POST":
        columns = {header: request.POST.get(f"col_{index}", "")
                   for index, header in enumerate(headers)}
        try:
            job = services.import_configure(
                job=job, actor=request.user, columns=columns,
                on_existing=request.POST.get("on_existing", "update"))
            job = services.import_check(job=job, actor=request.user)
        except CrmError as problem:
            error = problem.message
            status = 400
        else:
            return redirect("crm:import_detail", pk=job.pk)
    columns = job.mapping.get("columns", {})
    sample = services.sample_row(job)
    rows = [{"index": index, "header": header, "field": columns.get(header, ""),
             "sample": sample.get(header, "")[:80]}
            for index, header in enumerate(headers)]
    return render(request, "crm/imports/mapping.html", {
        "job": job, "rows": rows, "choices": choices, "error": error,
        "on_existing": job.mapping.get("options", {}).get("on_existing", "update"),
        "editable": job.status not in (*services.ACTIVE, ImportStatus.DONE),
    }, status=status)


def _detail_context(request, job):
    context = {"job": job, "result": job.mapping.get("result", {}),
               "options": job.mapping.get("options", {}),
               "mode": job.mapping.get("mode", ""),
               "phase": job.mapping.get("phase", ""),
               "errors": job.errors[:200], "running": job.status in services.ACTIVE}
    if job.status in (ImportStatus.PREVIEWED, ImportStatus.UPLOADED) and job.file:
        columns = {column: field for column, field in job.mapping.get("columns", {}).items()
                   if field}
        fields = (list(columns.values()) if job.format == "csv" else
                  ["first_name", "last_name", "email", "phone", "account", "job_title"])
        labels = dict(field_choices(organization=request.organization, target=job.target))
        context["preview_fields"] = [labels.get(field, field) for field in fields]
        bad_rows = {error["row"] for error in job.errors}
        context["preview"] = [
            {"row": number, "bad": number in bad_rows,
             "cells": [_preview_text(values.get(field, "")) for field in fields]}
            for number, values in services.preview_rows(job)]
    return context


def _preview_text(value):
    if isinstance(value, list):
        return ", ".join(value)
    return str(value or "")


@org_required(CRM_EDIT)
@require_GET
def import_detail(request, pk):
    job = _job(request, pk)
    return render(request, "crm/imports/detail.html", _detail_context(request, job))


@org_required(CRM_EDIT)
@require_GET
def import_progress(request, pk):
    job = _job(request, pk)
    return render(request, "crm/imports/_progress.html", _detail_context(request, job))


@org_required(CRM_EDIT)
@require_POST
def import_run(request, pk):
    """POST action=check (dry run) or action=run (valid_only=1 to skip invalid rows)."""
    job = _job(request, pk)
    try:
        if request.POST.get("action") == "check":
            services.import_check(job=job, actor=request.user)
        else:
            services.import_start(job=job, actor=request.user,
                                  valid_only=request.POST.get("valid_only") == "1")
    except CrmError as error:
        messages.error(request, error.message)
    return redirect("crm:import_detail", pk=job.pk)


class _Echo:
    def write(self, value):
        return value


@org_required(CRM_EDIT)
@require_GET
def import_errors(request, pk):
    """The job's errors as CSV; cells that a spreadsheet would run as formulas are quoted."""
    job = _job(request, pk)
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"
        yield writer.writerow([_("row"), _("column"), _("message")])
        for error in job.errors:
            yield writer.writerow([_safe(error.get("row")), _safe(error.get("column")),
                                   _safe(error.get("message"))])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


def _safe(value):
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return _cell(text)


# --- vCards ---------------------------------------------------------------------------------


@org_required(CRM_VIEW)
@require_GET
def contact_vcard(request, pk):
    contact = selectors.contact_detail(organization=request.organization, pk=pk)
    version = vcard.version_from(request.GET.get("version"))
    response = HttpResponse(vcard.contact_card(contact, version=version),
                            content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{vcard.vcard_filename(contact)}"'
    return response


@org_required(CRM_VIEW)
@require_GET
def contact_vcards(request):
    """The filtered contact list as one .vcf, streamed."""
    _form, filters, sort = _filters(request)
    version = vcard.version_from(request.GET.get("version"))
    queryset = selectors.contacts_list(organization=request.organization, filters=filters) \
        .order_by(*selectors.CONTACT_SORTS[sort])

    def cards():
        for contact in queryset.iterator(chunk_size=2000):
            yield vcard.contact_card(contact, version=version)

    response = StreamingHttpResponse(cards(), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    return response


# --- Duplicates and merging -----------------------------------------------------------------


@org_required(CRM_EDIT)
@require_GET
def duplicate_list(request):
    record = "account" if request.GET.get("record") == "account" else "contact"
    after = request.GET.get("after", "")[:300] or None
    contact_id = int_param(request.GET.get("contact"), positive=True)
    if contact_id:
        contact = get_for_org_or_404(Contact.objects.filter(archived_at__isnull=True),
                                     request.organization, pk=contact_id)
        candidates = duplicates.contact_candidates(organization=request.organization,
                                                   contact=contact)
        return render(request, "crm/imports/duplicates.html", {
            "for_contact": contact, "candidates": candidates, "record": "contact",
            "kind": "", "kinds": [], "page": None})
    if record == "account":
        kind = request.GET.get("kind") if request.GET.get("kind") in duplicates.ACCOUNT_KINDS \
            else "name"
        page = duplicates.account_duplicates(organization=request.organization, kind=kind,
                                             after=after)
    else:
        kind = request.GET.get("kind") if request.GET.get("kind") in duplicates.KINDS \
            else "email"
        page = duplicates.contact_duplicates(organization=request.organization, kind=kind,
                                             after=after)
    kinds = (
        [("name", _("Same name")), ("tax_id", _("Same tax id"))] if record == "account" else
        [("email", _("Same email")), ("phone", _("Same phone")),
         ("name", _("Same name at the same account"))])
    return render(request, "crm/imports/duplicates.html", {
        "page": page, "record": record, "kind": kind, "kinds": kinds})


def _merge_ids(request):
    keep = int_param(request.GET.get("keep"))
    other = int_param(request.GET.get("merge"))
    if keep is None or other is None:
        raise Http404
    return keep, other


def _merge_page(request, *, model, fields, service, template_name, detail_url):
    keep_id, merge_id = _merge_ids(request)
    base = model.objects.filter(archived_at__isnull=True)
    keep = get_for_org_or_404(base, request.organization, pk=keep_id)
    other = get_for_org_or_404(base, request.organization, pk=merge_id)
    status = 200
    error = None
    if request.method == "POST":
        # Fields not sent follow the service's rule: keep's value unless it is empty.
        choices = {name: request.POST[f"choice_{name}"] for name in fields
                   if request.POST.get(f"choice_{name}")}
        definitions = definitions_for(organization=request.organization,
                                      target="contact" if model is Contact else "account")
        for definition in definitions:
            value = request.POST.get(f"choice_custom.{definition.key}")
            if value:
                choices[f"custom.{definition.key}"] = value
        version_keep = int_param(request.POST.get("version_keep"), default=0)
        version_merge = int_param(request.POST.get("version_merge"), default=0)
        try:
            kept = service(organization=request.organization, actor=request.user, keep=keep,
                           merge=other, field_choices=choices, version_keep=version_keep,
                           version_merge=version_merge)
        except StaleVersion as problem:
            error = problem.message
            status = 409
        except CrmError as problem:
            error = problem.message
            status = 422
        else:
            messages.success(request, _("Merged. %(name)s now holds both records' history.")
                             % {"name": str(kept)})
            return redirect(detail_url, pk=kept.pk)
    definitions = definitions_for(organization=request.organization,
                                  target="contact" if model is Contact else "account")
    rows = []
    for name in fields:
        attribute = f"{name}_id" if name in merge.FK_FIELDS else name
        left = getattr(keep, name) if name in merge.FK_FIELDS else getattr(keep, attribute)
        right = getattr(other, name) if name in merge.FK_FIELDS else getattr(other, attribute)
        model_field = model._meta.get_field(name)
        rows.append({"name": name, "label": model_field.verbose_name,
                     "keep": _shown(model_field, left), "merge": _shown(model_field, right),
                     "differ": getattr(keep, attribute) != getattr(other, attribute),
                     "default": "merge" if getattr(keep, attribute) in ("", None)
                     and getattr(other, attribute) not in ("", None) else "keep"})
    for definition in definitions:
        left = (keep.custom or {}).get(definition.key)
        right = (other.custom or {}).get(definition.key)
        rows.append({"name": f"custom.{definition.key}", "label": definition.label,
                     "keep": left, "merge": right, "differ": left != right,
                     "default": "merge" if left in (None, "", []) and right not in
                     (None, "", []) else "keep"})
    return render(request, template_name, {"keep": keep, "other": other, "rows": rows,
                                           "error": error}, status=status)


def _shown(model_field, value):
    """A value as people read it: labels of choices, yes/no for booleans."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if model_field.choices and value:
        return dict(model_field.choices).get(value, value)
    return value


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def contact_merge(request):
    return _merge_page(request, model=Contact, fields=merge.CONTACT_MERGE_FIELDS,
                       service=merge.contacts_merge, template_name="crm/imports/merge.html",
                       detail_url="crm:contact_detail")


@org_required(CRM_EDIT)
@require_http_methods(["GET", "POST"])
def account_merge(request):
    return _merge_page(request, model=Account, fields=merge.ACCOUNT_MERGE_FIELDS,
                       service=merge.accounts_merge, template_name="crm/imports/merge.html",
                       detail_url="crm:account_detail")
