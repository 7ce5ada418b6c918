"""Outsider walk and API-docs routes for documents (the filing cabinet)."""

from . import OWN, REFUSE, Route

API = ("GET", "POST", "PATCH", "DELETE")
DOC = {"pk": "crm_document"}
API_DOC = {"document_id": "crm_document"}

ROUTES = {
    "crm/documents/": Route(OWN, methods=("GET",)),
    # Uploading names the record in the form: the victim's account id must answer 404.
    "crm/documents/new/": Route(OWN),
    "crm/documents/<int:pk>/": Route(REFUSE, kwargs=DOC),
    "crm/documents/<int:pk>/edit/": Route(REFUSE, kwargs=DOC),
    "crm/documents/<int:pk>/delete/": Route(REFUSE, kwargs=DOC),
    "crm/documents/<int:pk>/versions/new/": Route(REFUSE, kwargs=DOC),
    "crm/documents/<int:pk>/download/": Route(REFUSE, kwargs=DOC),
    "crm/documents/<int:pk>/versions/<int:number>/download/": Route(
        REFUSE, kwargs={**DOC, "number": "1"}),
    "api/v1/crm/documents": Route(OWN, methods=("GET", "POST"), body={"title": "Taken over"}),
    "api/v1/crm/documents/<document_id>": Route(
        REFUSE, kwargs=API_DOC, methods=API, body={"version": 1, "title": "Taken over"}),
    "api/v1/crm/documents/<document_id>/versions": Route(
        REFUSE, kwargs=API_DOC, methods=("GET", "POST"), body={"version": 1}),
    "api/v1/crm/documents/<document_id>/download": Route(
        REFUSE, kwargs=API_DOC, methods=("GET",)),
    "api/v1/crm/documents/<document_id>/versions/<number>/download": Route(
        REFUSE, kwargs={**API_DOC, "number": "1"}, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/crm/documents": {"get", "post"},
    "/api/v1/crm/documents/{document_id}": {"get", "patch", "delete"},
    "/api/v1/crm/documents/{document_id}/versions": {"get", "post"},
    "/api/v1/crm/documents/{document_id}/download": {"get"},
    "/api/v1/crm/documents/{document_id}/versions/{number}/download": {"get"},
}


def victim_records(*, org, owner, records):
    """Rows only: the walk runs without a private storage directory of its own, and an
    outsider never reaches the bytes (every document route answers 404 first)."""
    from jalin.crm.models import Document, DocumentVersion

    document = Document.objects.create(
        organization=org, title="Victim Supply Secret contract",
        description="Victim Supply Secret terms", account=records["crm_account"],
        created_by=owner)
    version = DocumentVersion.objects.create(
        document=document, number=1, file=f"{org.pk}/2026/01/victim-walk-no-file",
        original_name="Victim Supply Secret.pdf", size=10, content_type="application/pdf",
        sha256="0" * 64, uploaded_by=owner)
    document.current = version
    document.save(update_fields=["current"])
    Document.objects.create(organization=org, title="Victim Supply Secret notes",
                            contact=records["crm_contact"], created_by=owner)
    return {"crm_document": document}
