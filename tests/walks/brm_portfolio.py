"""Outsider walk and API-docs routes for the service, agreement and customer portfolios."""

from . import OWN, REFUSE, Route

ROUTES = {
    "service/catalogue/": Route(OWN, methods=("GET",)),
    "service/catalogue/new/": Route(OWN, methods=("GET",)),
    "service/catalogue/<int:pk>/": Route(REFUSE, kwargs={"pk": "svc_service"},
                                         methods=("GET",)),
    "service/catalogue/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "svc_service"}),
    "service/catalogue/<int:pk>/status/": Route(REFUSE, kwargs={"pk": "svc_service"},
                                                methods=("POST",)),
    "service/catalogue/<int:pk>/customers/": Route(REFUSE, kwargs={"pk": "svc_service"},
                                                   methods=("POST",)),
    "service/subscriptions/<int:pk>/end/": Route(REFUSE, kwargs={"pk": "svc_subscription"},
                                                 methods=("POST",)),
    "service/agreements/": Route(OWN, methods=("GET",)),
    "service/agreements/export.csv": Route(OWN, methods=("GET",)),
    "service/agreements/new/": Route(OWN, methods=("GET",)),
    "service/agreements/<int:pk>/": Route(REFUSE, kwargs={"pk": "svc_agreement"},
                                          methods=("GET",)),
    "service/agreements/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "svc_agreement"}),
    "service/agreements/<int:pk>/status/": Route(REFUSE, kwargs={"pk": "svc_agreement"},
                                                 methods=("POST",)),
    "service/agreements/<int:pk>/sign/": Route(REFUSE, kwargs={"pk": "svc_agreement"},
                                               methods=("POST",)),
    "service/agreements/<int:pk>/documents/": Route(REFUSE, kwargs={"pk": "svc_agreement"},
                                                    methods=("POST",)),
    "service/agreements/<int:pk>/documents/<int:document_id>/": Route(
        REFUSE, kwargs={"pk": "svc_agreement", "document_id": "svc_agreement_document"},
        methods=("GET",)),
    "service/my/agreements/": Route(OWN, methods=("GET",)),
    "service/my/agreements/<int:pk>/": Route(REFUSE, kwargs={"pk": "svc_agreement"},
                                             methods=("GET",)),
    "service/my/agreements/<int:pk>/sign/": Route(REFUSE, kwargs={"pk": "svc_agreement"},
                                                  methods=("POST",)),
    "service/my/agreements/<int:pk>/documents/<int:document_id>/": Route(
        REFUSE, kwargs={"pk": "svc_agreement", "document_id": "svc_agreement_document"},
        methods=("GET",)),
    # API
    "api/v1/service/services": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/services/<service_id>": Route(
        REFUSE, kwargs={"service_id": "svc_service"}, methods=("GET", "PATCH"),
        body={"version": 1, "name": "x"}),
    "api/v1/service/services/<service_id>/transitions": Route(
        REFUSE, kwargs={"service_id": "svc_service"}, methods=("POST",),
        body={"to_status": "pending_retirement"}),
    "api/v1/service/services/<service_id>/subscriptions": Route(
        REFUSE, kwargs={"service_id": "svc_service"}, methods=("GET", "POST"),
        body={"account_id": 1}),
    "api/v1/service/subscriptions/<subscription_id>/end": Route(
        REFUSE, kwargs={"subscription_id": "svc_subscription"}, methods=("POST",), body={}),
    "api/v1/service/agreements": Route(OWN, methods=("GET", "POST"), body={}),
    "api/v1/service/agreements/<agreement_id>": Route(
        REFUSE, kwargs={"agreement_id": "svc_agreement"}, methods=("GET", "PATCH"),
        body={"version": 1, "notes": "x"}),
    "api/v1/service/agreements/<agreement_id>/transitions": Route(
        REFUSE, kwargs={"agreement_id": "svc_agreement"}, methods=("POST",),
        body={"to_status": "suspended"}),
    "api/v1/service/agreements/<agreement_id>/signatures": Route(
        REFUSE, kwargs={"agreement_id": "svc_agreement"}, methods=("POST",),
        body={"party": "provider", "decision": "signed"}),
    "api/v1/portal/agreements": Route(OWN, methods=("GET",)),
    "api/v1/portal/agreements/<agreement_id>": Route(
        REFUSE, kwargs={"agreement_id": "svc_agreement"}, methods=("GET",)),
    "api/v1/portal/agreements/<agreement_id>/signatures": Route(
        REFUSE, kwargs={"agreement_id": "svc_agreement"}, methods=("POST",),
        body={"decision": "signed"}),
    # Customer portfolio
    "brm/": Route(OWN, methods=("GET",)),
    "brm/customers/export.csv": Route(OWN, methods=("GET",)),
    "brm/customers/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_account"}, methods=("GET",)),
    "brm/customers/<int:pk>/profile/": Route(REFUSE, kwargs={"pk": "crm_account"},
                                             methods=("POST",)),
    "brm/customers/<int:pk>/objectives/": Route(REFUSE, kwargs={"pk": "crm_account"},
                                                methods=("POST",)),
    "brm/objectives/<int:pk>/": Route(REFUSE, kwargs={"pk": "brm_objective"},
                                      methods=("POST",)),
    "brm/customers/<int:pk>/stakeholders/": Route(REFUSE, kwargs={"pk": "crm_account"},
                                                  methods=("POST",)),
    "brm/stakeholders/<int:pk>/remove/": Route(REFUSE, kwargs={"pk": "brm_stakeholder"},
                                               methods=("POST",)),
    "api/v1/brm/customers": Route(OWN, methods=("GET",)),
    "api/v1/brm/customers/<account_id>": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("GET",)),
    "api/v1/brm/customers/<account_id>/revenue": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("GET",)),
    "api/v1/brm/customers/<account_id>/profile": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("PATCH",),
        body={"health": "critical", "health_note": "x"}),
    "api/v1/brm/customers/<account_id>/objectives": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("GET", "POST"),
        body={"title": "x"}),
    "api/v1/brm/objectives/<objective_id>": Route(
        REFUSE, kwargs={"objective_id": "brm_objective"}, methods=("PATCH",),
        body={"version": 1, "title": "x"}),
    "api/v1/brm/customers/<account_id>/stakeholders": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=("GET", "POST"),
        body={"contact_id": 1, "role": "sponsor"}),
    "api/v1/brm/stakeholders/<stakeholder_id>": Route(
        REFUSE, kwargs={"stakeholder_id": "brm_stakeholder"}, methods=("DELETE",)),
}

API_ROUTES = {
    "/api/v1/service/services": {"get", "post"},
    "/api/v1/service/services/{service_id}": {"get", "patch"},
    "/api/v1/service/services/{service_id}/transitions": {"post"},
    "/api/v1/service/services/{service_id}/subscriptions": {"get", "post"},
    "/api/v1/service/subscriptions/{subscription_id}/end": {"post"},
    "/api/v1/service/agreements": {"get", "post"},
    "/api/v1/service/agreements/{agreement_id}": {"get", "patch"},
    "/api/v1/service/agreements/{agreement_id}/transitions": {"post"},
    "/api/v1/service/agreements/{agreement_id}/signatures": {"post"},
    "/api/v1/portal/agreements": {"get"},
    "/api/v1/portal/agreements/{agreement_id}": {"get"},
    "/api/v1/portal/agreements/{agreement_id}/signatures": {"post"},
    "/api/v1/brm/customers": {"get"},
    "/api/v1/brm/customers/{account_id}": {"get"},
    "/api/v1/brm/customers/{account_id}/revenue": {"get"},
    "/api/v1/brm/customers/{account_id}/profile": {"patch"},
    "/api/v1/brm/customers/{account_id}/objectives": {"get", "post"},
    "/api/v1/brm/objectives/{objective_id}": {"patch"},
    "/api/v1/brm/customers/{account_id}/stakeholders": {"get", "post"},
    "/api/v1/brm/stakeholders/{stakeholder_id}": {"delete"},
}


def victim_records(*, org, owner, records):
    """A live service with a customer, and an agreement (pending signature, with a document)
    between the victim supplier and its hub buyer."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jalin.service import agreements, service_catalogue

    service = service_catalogue.service_create(
        organization=org, actor=owner, code="VSS", name="Victim Supply Secret Service",
        utility="Victim Supply Secret utility")
    for status in ("under_evaluation", "approved", "design", "live"):
        service = service_catalogue.service_transition(service=service, to_status=status,
                                                       actor=owner)
    account = records["crm_account"]
    buyer = records["hub_relationship"].buyer
    # The victim's customer is its hub buyer (test data: set the link directly).
    type(account).objects.filter(pk=account.pk).update(hub_organization=buyer)
    account.refresh_from_db()
    subscription = service_catalogue.subscription_add(service=service, account=account,
                                                      actor=owner)
    agreement = agreements.agreement_create(
        organization=org, actor=owner, kind="sla", title="Victim Supply Secret SLA",
        account=account, services=[service], notes="Victim Supply Secret notes")
    agreement = agreements.agreement_transition(agreement=agreement,
                                                to_status="pending_signature", actor=owner)
    document = agreements.agreement_document_add(
        agreement=agreement, actor=owner, title="Victim Supply Secret contract",
        file=SimpleUploadedFile("contract.pdf", b"%PDF-1.4\n% Victim Supply Secret\n%%EOF\n"))
    from jalin.brm import customers

    customers.profile_update(account=account, actor=owner, health="at_risk",
                             health_note="Victim Supply Secret health",
                             business_summary="Victim Supply Secret business")
    objective = customers.objective_create(account=account, actor=owner,
                                           title="Victim Supply Secret objective")
    stakeholder = customers.stakeholder_create(account=account, actor=owner,
                                               contact=records["crm_contact"],
                                               role="decision_maker",
                                               notes="Victim Supply Secret stakeholder")
    return {"brm_objective": objective, "brm_stakeholder": stakeholder,
            "svc_service": service, "svc_subscription": subscription,
            "svc_agreement": agreement, "svc_agreement_document": document}
