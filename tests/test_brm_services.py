"""Service portfolio: lifecycle with history rows, subscriptions, pages and API."""

import datetime

import pytest
from django.test import Client

from jalin.api.testing import ApiClient
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.service import service_catalogue
from jalin.service.models import Service, ServiceStatusChange, ServiceSubscription
from jalin.tenancy.services import TenancyError

from .brm_portfolio_world import customer, live_service

pytestmark = pytest.mark.django_db


def test_full_lifecycle_records_history_and_dates(org, owner):
    now = datetime.datetime(2026, 3, 2, 3, 0, tzinfo=datetime.UTC)
    service = service_catalogue.service_create(organization=org, actor=owner, code="NET",
                                               name="Network", now=now)
    path = ["under_evaluation", "approved", "design", "live", "pending_retirement", "retired"]
    for status in path:
        service = service_catalogue.service_transition(service=service, to_status=status,
                                                       actor=owner, comment=f"to {status}",
                                                       now=now)
    assert service.status == "retired"
    assert service.live_since == datetime.date(2026, 3, 2)
    assert service.retired_on == datetime.date(2026, 3, 2)
    changes = list(ServiceStatusChange.objects.filter(service=service)
                   .values_list("from_status", "to_status", "changed_by", "comment"))
    assert changes[0] == ("", "draft", owner.pk, "")
    assert [c[1] for c in changes[1:]] == path
    assert changes[-1] == ("pending_retirement", "retired", owner.pk, "to retired")
    assert Event.objects.filter(type="service.service.status_changed").count() == len(path)
    assert AuditLog.objects.filter(action="service.service.status_changed").count() == len(path)


@pytest.mark.parametrize(("start", "target"), [
    ("draft", "live"), ("draft", "retired"), ("live", "draft"), ("live", "cancelled"),
])
def test_forbidden_transitions_change_nothing(org, owner, start, target):
    service = service_catalogue.service_create(organization=org, actor=owner, code="X",
                                               name="X")
    Service.objects.filter(pk=service.pk).update(status=start)
    service.refresh_from_db()
    before = ServiceStatusChange.objects.count()
    with pytest.raises(TenancyError):
        service_catalogue.service_transition(service=service, to_status=target, actor=owner)
    service.refresh_from_db()
    assert service.status == start
    assert ServiceStatusChange.objects.count() == before


def test_retired_is_final_and_cancel_from_pipeline(org, owner):
    service = service_catalogue.service_create(organization=org, actor=owner, code="C",
                                               name="C")
    service = service_catalogue.service_transition(service=service, to_status="cancelled",
                                                   actor=owner)
    assert service.retired_on is not None
    assert service_catalogue.allowed_targets(service) == []


def test_duplicate_code_refused(org, owner):
    service_catalogue.service_create(organization=org, actor=owner, code="A", name="A")
    with pytest.raises(TenancyError):
        service_catalogue.service_create(organization=org, actor=owner, code="A", name="B")


def test_subscriptions_need_a_live_service_and_reopen(org, owner):
    account = customer(org)
    draft = service_catalogue.service_create(organization=org, actor=owner, code="D",
                                             name="D")
    with pytest.raises(TenancyError):
        service_catalogue.subscription_add(service=draft, account=account, actor=owner)
    service = live_service(org, owner)
    subscription = service_catalogue.subscription_add(service=service, account=account,
                                                      actor=owner)
    with pytest.raises(TenancyError):
        service_catalogue.subscription_add(service=service, account=account, actor=owner)
    service_catalogue.subscription_end(subscription=subscription, actor=owner)
    with pytest.raises(TenancyError):
        service_catalogue.subscription_end(subscription=subscription, actor=owner)
    again = service_catalogue.subscription_add(service=service, account=account, actor=owner)
    assert again.pk == subscription.pk and again.ended_on is None


def test_pages_three_personas(org, owner, owner_client, member_client, outsider_client):
    service = live_service(org, owner)
    account = customer(org)
    # Owner: tabs, create, transition, subscribe.
    response = owner_client.get("/service/catalogue/?tab=catalogue")
    assert response.status_code == 200 and b"Hosting" in response.content
    assert b"Hosting" not in owner_client.get("/service/catalogue/?tab=pipeline").content
    response = owner_client.post("/service/catalogue/new/", {"code": "NEW", "name": "New one",
                                                             "stage": "strategy"})
    assert response.status_code == 302
    new = Service.objects.get(code="NEW")
    response = owner_client.post(f"/service/catalogue/{new.pk}/status/",
                                 {"to_status": "live", "version": new.version})
    assert response.status_code == 400
    assert Service.objects.get(pk=new.pk).status == "draft"
    response = owner_client.post(f"/service/catalogue/{new.pk}/status/",
                                 {"to_status": "under_evaluation", "version": new.version})
    assert response.status_code == 302
    response = owner_client.post(f"/service/catalogue/{service.pk}/customers/",
                                 {"account": account.pk})
    assert response.status_code == 302
    assert ServiceSubscription.objects.filter(service=service, account=account).exists()
    page = owner_client.get(f"/service/catalogue/{service.pk}/")
    assert b"Toko Test" in page.content
    # Member (sales): reads, cannot write.
    assert member_client.get(f"/service/catalogue/{service.pk}/").status_code == 200
    assert member_client.post("/service/catalogue/new/", {"code": "M", "name": "M"}
                              ).status_code == 403
    assert not Service.objects.filter(code="M").exists()
    # Outsider: 404 on the record, nothing of it in its lists.
    assert outsider_client.get(f"/service/catalogue/{service.pk}/").status_code == 404
    assert b"Hosting" not in outsider_client.get("/service/catalogue/").content
    assert Client().get("/service/catalogue/").status_code == 302


def test_api_over_http(org, owner, owner_client, member_client, outsider_client):
    api = ApiClient(client=owner_client)
    response = api.post("/service/services", {"code": "API", "name": "Api service",
                                              "utility": "Does things"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["allowed_statuses"] == ["under_evaluation",
                                                                      "cancelled"]
    service_id = body["id"]
    response = api.post(f"/service/services/{service_id}/transitions", {"to_status": "live"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_transition"
    response = api.post(f"/service/services/{service_id}/transitions",
                        {"to_status": "under_evaluation", "comment": "please"})
    assert response.status_code == 200
    assert response.json()["status_changes"][-1]["comment"] == "please"
    response = api.patch(f"/service/services/{service_id}", {"version": 1, "name": "Old"})
    assert response.status_code == 409
    response = api.patch(f"/service/services/{service_id}",
                         {"version": 2,
                          "name": "Renamed"})
    assert response.status_code == 200 and response.json()["name"] == "Renamed"
    assert api.get("/service/services?section=pipeline").json()["items"][0]["id"] == service_id
    assert ApiClient(client=member_client).post(
        "/service/services", {"code": "NO", "name": "No"}).status_code == 403
    assert ApiClient(client=outsider_client).get(
        f"/service/services/{service_id}").status_code == 404
    live = live_service(org, owner, code="L")
    account = customer(org)
    response = api.post(f"/service/services/{live.pk}/subscriptions",
                        {"account_id": account.pk})
    assert response.status_code == 201
    subscription_id = response.json()["id"]
    response = api.post(f"/service/subscriptions/{subscription_id}/end", {})
    assert response.status_code == 200 and response.json()["ended_on"]
    other = ApiClient(client=outsider_client).post(
        f"/service/services/{live.pk}/subscriptions", {"account_id": account.pk})
    assert other.status_code == 404
