"""Outsider walk and API-docs routes for imports, vCards, duplicates and merging."""

from . import OWN, REFUSE, Route

MERGE_BODY = {"keep_id": 1, "merge_id": 2, "version_keep": 1, "version_merge": 1}

ROUTES = {
    "crm/imports/": Route(OWN, methods=("GET",)),
    "crm/imports/new/": Route(OWN, methods=("GET",)),
    "crm/imports/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_import"}),
    "crm/imports/<int:pk>/mapping/": Route(REFUSE, kwargs={"pk": "crm_import"}),
    "crm/imports/<int:pk>/run/": Route(REFUSE, kwargs={"pk": "crm_import"}),
    "crm/imports/<int:pk>/errors.csv": Route(REFUSE, kwargs={"pk": "crm_import"}),
    "crm/imports/<int:pk>/progress/": Route(REFUSE, kwargs={"pk": "crm_import"}),
    "crm/contacts/<int:pk>/vcard.vcf": Route(REFUSE, kwargs={"pk": "crm_contact"}),
    "crm/contacts/export.vcf": Route(OWN, methods=("GET",)),
    "crm/duplicates/": Route(OWN, methods=("GET",)),
    "crm/contacts/merge/": Route(OWN),
    "crm/accounts/merge/": Route(OWN),
    "api/v1/crm/imports": Route(OWN, methods=("GET",)),
    "api/v1/crm/imports/<import_id>": Route(
        REFUSE, kwargs={"import_id": "crm_import"}, methods=("GET", "PATCH"),
        body={"on_existing": "skip"},
    ),
    "api/v1/crm/imports/<import_id>/dry-run": Route(
        REFUSE, kwargs={"import_id": "crm_import"}, methods=("POST",), body={},
    ),
    "api/v1/crm/imports/<import_id>/run": Route(
        REFUSE, kwargs={"import_id": "crm_import"}, methods=("POST",), body={},
    ),
    "api/v1/crm/contacts/<contact_id>/vcard": Route(
        REFUSE, kwargs={"contact_id": "crm_contact"}, methods=("GET",),
    ),
    "api/v1/crm/duplicates/contacts": Route(OWN, methods=("GET",)),
    "api/v1/crm/duplicates/accounts": Route(OWN, methods=("GET",)),
    "api/v1/crm/contacts/merge": Route(OWN, methods=("POST",), body=MERGE_BODY),
    "api/v1/crm/accounts/merge": Route(OWN, methods=("POST",), body=MERGE_BODY),
}

API_ROUTES = {
    "/api/v1/crm/imports": {"get", "post"},
    "/api/v1/crm/imports/{import_id}": {"get", "patch"},
    "/api/v1/crm/imports/{import_id}/dry-run": {"post"},
    "/api/v1/crm/imports/{import_id}/run": {"post"},
    "/api/v1/crm/contacts/{contact_id}/vcard": {"get"},
    "/api/v1/crm/duplicates/contacts": {"get"},
    "/api/v1/crm/duplicates/accounts": {"get"},
    "/api/v1/crm/contacts/merge": {"post"},
    "/api/v1/crm/accounts/merge": {"post"},
}


def victim_records(*, org, owner, records):
    from jalin.crm import services
    from jalin.crm.models import ImportJob

    services.contact_create(organization=org, actor=owner,
                            last_name="Victim Supply Secret Twin",
                            email="victim-invitee@victim.test")  # a duplicate by email
    job = ImportJob.objects.create(
        organization=org, created_by=owner, target="contact", format="csv",
        original_name="Victim Supply Secret.csv", status="previewed", total_rows=1,
        error_count=1, mapping={"columns": {"Name": "last_name"}, "headers": ["Name"],
                                "delimiter": ",", "encoding": "utf-8",
                                "options": {"on_existing": "update"}, "mode": "check",
                                "result": {}},
        errors=[{"row": 2, "column": "Name", "field": "last_name",
                 "message": "Victim Supply Secret row"}])
    return {"crm_import": job}
