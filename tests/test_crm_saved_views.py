"""Saved views on the account and contact lists: save the current filters, private vs
shared, delete own only, pages and API, outsiders and other organizations."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.models import AuditLog
from jalin.crm.models import SavedView
from jalin.crm.search import saved_views
from jalin.crm.services import CrmError
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role


def api_for(user):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user)))


@pytest.fixture
def viewer(org):
    user = get_user_model().objects.create_user("viewer", "v@example.test", "x-Pass-123!")
    Membership.objects.create(user=user, organization=org, role=Role.VIEWER)
    return user


def test_save_current_filters_from_the_list_page(org, member, member_client):
    response = member_client.post(reverse("crm:saved_view_create"), {
        "target": "account", "name": "Key customers",
        "query_string": "status=customer&tier=key&after=abc&q=PT", "shared": "1"})
    view = SavedView.objects.get(organization=org, owner=member)
    assert view.query == {"status": "customer", "tier": "key", "q": "PT"}  # no cursor
    assert view.shared and view.target == "account"
    assert response.status_code == 302 and "status=customer" in response["Location"]
    assert AuditLog.objects.filter(action="crm.saved_view.created").exists()
    body = member_client.get(reverse("crm:account_list")).content.decode()
    assert "Key customers" in body and "Save this view" in body


def test_private_views_stay_private_and_shared_ones_are_seen(org, owner, member,
                                                             owner_client, member_client):
    saved_views.saved_view_create(organization=org, actor=member, target="contact",
                                  name="Mine only", query={"q": "budi"})
    saved_views.saved_view_create(organization=org, actor=member, target="contact",
                                  name="For the team", query={"role": "billing"}, shared=True)
    body = owner_client.get(reverse("crm:contact_list")).content.decode()
    assert "For the team" in body and "Mine only" not in body
    body = member_client.get(reverse("crm:contact_list")).content.decode()
    assert "For the team" in body and "Mine only" in body
    names = [v["name"] for v in api_for(owner).get("/crm/saved-views").json()]
    assert names == ["For the team"]
    names = [v["name"] for v in api_for(member).get("/crm/saved-views?target=contact").json()]
    assert names == ["For the team", "Mine only"]


def test_only_the_owner_deletes(org, owner, member, owner_client, member_client):
    shared = saved_views.saved_view_create(organization=org, actor=member, target="account",
                                           name="Shared", query={}, shared=True)
    assert owner_client.post(reverse("crm:saved_view_delete", args=[shared.pk])) \
        .status_code == 404
    assert api_for(owner).delete(f"/crm/saved-views/{shared.pk}").status_code == 404
    with pytest.raises(CrmError):
        saved_views.saved_view_delete(view=shared, actor=owner)
    assert member_client.post(reverse("crm:saved_view_delete", args=[shared.pk])) \
        .status_code == 302
    assert not SavedView.objects.filter(pk=shared.pk).exists()


def test_other_organizations_never_see_views(org, member, outsider, outsider_client):
    view = saved_views.saved_view_create(organization=org, actor=member, target="account",
                                         name="Victim view", query={}, shared=True)
    assert "Victim view" not in outsider_client.get(reverse("crm:account_list")) \
        .content.decode()
    assert api_for(outsider).get("/crm/saved-views").json() == []
    assert outsider_client.post(reverse("crm:saved_view_delete", args=[view.pk])) \
        .status_code == 404
    assert api_for(outsider).delete(f"/crm/saved-views/{view.pk}").status_code == 404


def test_duplicate_and_bad_input(org, member, member_client):
    api = api_for(member)
    created = api.post("/crm/saved-views", {"target": "account", "name": "Mine",
                                            "query": {"status": "customer", "junk": "x"}})
    assert created.status_code == 201 and created.json()["query"] == {"status": "customer"}
    again = api.post("/crm/saved-views", {"target": "account", "name": "Mine", "query": {}})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "name"
    assert api.post("/crm/saved-views", {"target": "invoice", "name": "X"}).status_code == 422
    response = member_client.post(reverse("crm:saved_view_create"),
                                  {"target": "account", "name": ""})
    assert response.status_code == 400
    assert SavedView.objects.count() == 1


def test_viewer_saves_private_but_cannot_share(org, viewer):
    client = Client()
    client.force_login(viewer)
    response = client.post(reverse("crm:saved_view_create"),
                           {"target": "account", "name": "Shared?", "shared": "1"})
    assert response.status_code == 403 and not SavedView.objects.exists()
    api = api_for(viewer)
    assert api.post("/crm/saved-views", {"target": "account", "name": "S", "shared": True}) \
        .status_code == 403
    assert api.post("/crm/saved-views", {"target": "account", "name": "P"}).status_code == 201


def test_saved_view_list_query_count_is_flat(org, member, member_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as context:
            assert member_client.get(reverse("crm:account_list")).status_code == 200
        return len(context.captured_queries)

    saved_views.saved_view_create(organization=org, actor=member, target="account",
                                  name="V0", query={"q": "a"})
    count()  # warm-up: the first request of a session does its own bookkeeping
    first = count()
    for index in range(1, 20):
        saved_views.saved_view_create(organization=org, actor=member, target="account",
                                      name=f"V{index}", query={"q": "a"}, shared=True)
    assert count() == first
