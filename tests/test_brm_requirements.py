"""Requirements and business cases: versions that never change, the lifecycle, the
customer's sign-off rows bound to a version, who may sign, and the pages (staff + portal)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from jalin.brm import requirements
from jalin.brm.models import (
    Requirement,
    RequirementStatusChange,
    RequirementVersion,
    SignOff,
)
from jalin.brm.register_base import RegisterError, StaleVersion
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from tests.brm_world import make_requirement, make_world, membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, owner):
    return make_world(org, owner)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


# --- Services ------------------------------------------------------------------------------


def test_create_numbers_per_org_and_writes_version_one(world):
    first = make_requirement(world)
    second = make_requirement(world, title="Night deliveries")
    assert (first.number, second.number) == (1, 2)
    assert first.buyer_id == world.buyer.pk
    version = first.versions.get()
    assert (version.number, version.costs, version.benefits) == (1, Decimal("1000000.00"),
                                                                 Decimal("2500000.00"))
    assert requirements.net_benefit(version) == Decimal("1500000.00")
    assert requirements.roi_percent(version) == Decimal("150.0")
    assert RequirementStatusChange.objects.filter(requirement=first, to_status="draft").exists()
    assert Event.objects.filter(type="brm.requirement.created").count() == 2
    assert AuditLog.objects.filter(action="brm.requirement.created").count() == 2


def test_roi_is_none_without_costs(world):
    requirement = make_requirement(world, costs="0")
    assert requirements.roi_percent(requirement.versions.get()) is None


def test_editing_content_makes_a_new_version_and_keeps_the_old_one(world):
    requirement = make_requirement(world)
    v1 = requirement.versions.get()
    updated = requirements.requirement_update(
        requirement=requirement, actor=world.owner, version=requirement.version,
        description="Deliver on Saturdays and Sundays.", risks="Drivers' overtime")
    assert updated.current_version == 2
    v1_again = RequirementVersion.objects.get(pk=v1.pk)
    assert v1_again.description == "Deliver on Saturdays too." and v1_again.risks == ""
    v2 = updated.versions.get(number=2)
    assert v2.description == "Deliver on Saturdays and Sundays."
    assert v2.costs == v1.costs  # untouched fields carry over
    diff = {field["field"]: field for field in requirements.version_diff(v1, v2)}
    assert diff["description"]["changed"] and diff["risks"]["changed"]
    assert not diff["costs"]["changed"]
    assert ("+", "Deliver on Saturdays and Sundays.") in diff["description"]["rows"]
    assert ("-", "Deliver on Saturdays too.") in diff["description"]["rows"]


def test_title_only_change_makes_no_version(world):
    requirement = make_requirement(world)
    updated = requirements.requirement_update(requirement=requirement, actor=world.owner,
                                              version=requirement.version, title="Renamed")
    assert updated.current_version == 1 and updated.title == "Renamed"
    assert updated.versions.count() == 1


def test_stale_version_is_refused_and_changes_nothing(world):
    requirement = make_requirement(world)
    with pytest.raises(StaleVersion):
        requirements.requirement_update(requirement=requirement, actor=world.owner,
                                        version=requirement.version + 1, description="x")
    assert RequirementVersion.objects.filter(requirement=requirement).count() == 1


def test_bad_input_changes_nothing(world):
    requirement = make_requirement(world)
    for bad in ({"costs": "-5"}, {"costs": "abc"}, {"description": ""}, {"title": ""}):
        with pytest.raises(RegisterError):
            requirements.requirement_update(requirement=requirement, actor=world.owner,
                                            version=requirement.version, **bad)
    requirement.refresh_from_db()
    assert requirement.version == 1 and requirement.versions.count() == 1


def test_lifecycle_and_illegal_moves(world):
    requirement = make_requirement(world)
    with pytest.raises(RegisterError) as error:
        requirements.requirement_transition(requirement=requirement, action="qualify",
                                            actor=world.owner, version=requirement.version)
    assert error.value.code == "invalid_transition"
    with pytest.raises(RegisterError):
        requirements.requirement_transition(requirement=requirement, action="approve",
                                            actor=world.owner, version=requirement.version)
    requirement = make_requirement(world, qualified=True)
    assert requirement.status == "qualified"
    assert list(requirement.status_changes.values_list("to_status", flat=True)) == [
        "draft", "submitted", "screening", "qualified"]
    deferred = requirements.requirement_transition(requirement=requirement, action="defer",
                                                   actor=world.owner,
                                                   version=requirement.version)
    resumed = requirements.requirement_transition(requirement=deferred, action="resume",
                                                  actor=world.owner, version=deferred.version)
    assert resumed.status == "screening"
    rejected = requirements.requirement_transition(requirement=resumed, action="reject",
                                                   actor=world.owner, version=resumed.version)
    with pytest.raises(RegisterError):
        requirements.requirement_update(requirement=rejected, actor=world.owner,
                                        version=rejected.version, description="again")


def test_decision_maker_signs_off_the_current_version(world):
    requirement = make_requirement(world, qualified=True)
    assert requirements.is_awaiting_sign_off(requirement)
    sign_off = requirements.requirement_sign_off(
        requirement=requirement, membership=membership(world.decision_maker, world.buyer),
        decision="approved", version_number=1, comment="Go ahead")
    requirement.refresh_from_db()
    assert requirement.status == "approved"
    assert (sign_off.user, sign_off.signer_name, sign_off.requirement_version.number,
            sign_off.decision, sign_off.party) == (world.decision_maker, "Bambang Wijaya", 1,
                                                   "approved", "customer")
    change = requirement.status_changes.last()
    assert (change.from_status, change.to_status, change.changed_by) == (
        "qualified", "approved", world.decision_maker)
    assert Event.objects.filter(type="brm.requirement.signed_off",
                                payload__decision="approved").exists()
    # A second decision on the same version is refused.
    with pytest.raises(RegisterError):
        requirements.requirement_sign_off(
            requirement=requirement, membership=membership(world.decision_maker, world.buyer),
            decision="approved", version_number=1)
    assert SignOff.objects.count() == 1


def test_new_version_after_sign_off_needs_a_new_sign_off(world):
    requirement = make_requirement(world, qualified=True)
    dm = membership(world.decision_maker, world.buyer)
    requirements.requirement_sign_off(requirement=requirement, membership=dm,
                                      decision="approved", version_number=1)
    requirement.refresh_from_db()
    updated = requirements.requirement_update(requirement=requirement, actor=world.owner,
                                              version=requirement.version, costs="1200000")
    assert (updated.status, updated.current_version) == ("qualified", 2)
    assert requirements.is_awaiting_sign_off(updated)
    # The old sign-off stays with version 1.
    assert SignOff.objects.get().requirement_version.number == 1
    # Signing with the number of the version read earlier is stale.
    with pytest.raises(StaleVersion):
        requirements.requirement_sign_off(requirement=updated, membership=dm,
                                          decision="approved", version_number=1)
    requirements.requirement_sign_off(requirement=updated, membership=dm,
                                      decision="approved", version_number=2)
    assert list(SignOff.objects.order_by("id").values_list(
        "requirement_version__number", flat=True)) == [1, 2]


def test_rejection_needs_a_comment_and_keeps_it_qualified(world):
    requirement = make_requirement(world, qualified=True)
    dm = membership(world.decision_maker, world.buyer)
    with pytest.raises(RegisterError):
        requirements.requirement_sign_off(requirement=requirement, membership=dm,
                                          decision="rejected", version_number=1)
    assert not SignOff.objects.exists()
    requirements.requirement_sign_off(requirement=requirement, membership=dm,
                                      decision="rejected", version_number=1,
                                      comment="Too expensive")
    requirement.refresh_from_db()
    assert requirement.status == "qualified"
    assert not requirements.is_awaiting_sign_off(requirement)


def test_only_allowed_signers(world):
    requirement = make_requirement(world, qualified=True)
    # A plain buyer of the customer and (with a decision maker linked) even its approver.
    for user in (world.plain_buyer, world.approver):
        with pytest.raises(RegisterError) as error:
            requirements.requirement_sign_off(
                requirement=requirement, membership=membership(user, world.buyer),
                decision="approved", version_number=1)
        assert error.value.code == "forbidden"
    # Another buyer's user: not found.
    with pytest.raises(RegisterError) as error:
        requirements.requirement_sign_off(
            requirement=requirement,
            membership=membership(world.other_buyer_user, world.other_buyer),
            decision="approved", version_number=1)
    assert error.value.code == "not_found"
    assert not SignOff.objects.exists()


def test_fallback_signers_without_a_linked_decision_maker(world):
    world.stakeholder.portal_user = None
    world.stakeholder.save()
    requirement = make_requirement(world, qualified=True)
    assert not requirements.may_sign(requirement, membership(world.plain_buyer, world.buyer))
    assert not requirements.may_sign(requirement,
                                     membership(world.decision_maker, world.buyer))
    assert requirements.may_sign(requirement, membership(world.approver, world.buyer))
    requirements.requirement_sign_off(requirement=requirement,
                                      membership=membership(world.approver, world.buyer),
                                      decision="approved", version_number=1)
    assert SignOff.objects.get().user == world.approver


def test_not_awaiting_cannot_be_signed(world):
    requirement = make_requirement(world)  # draft
    with pytest.raises(RegisterError) as error:
        requirements.requirement_sign_off(
            requirement=requirement, membership=membership(world.decision_maker, world.buyer),
            decision="approved", version_number=1)
    assert error.value.code == "invalid_status"


# --- Staff pages ---------------------------------------------------------------------------


def test_staff_pages_create_edit_diff_and_transition(world, owner_client):
    response = owner_client.post(reverse("brm:requirement_create"), {
        "account": world.account.pk, "title": "Weekend deliveries", "kind": "new_service",
        "description": "Deliver on Saturdays.", "costs": "100", "benefits": "250",
        "owner": world.owner.pk})
    requirement = Requirement.objects.get()
    assert response.status_code == 302
    page = owner_client.get(reverse("brm:requirement_detail", args=[requirement.pk]))
    assert page.status_code == 200
    assert "REQ-1" in page.content.decode() and "150.0 %" in page.content.decode()
    response = owner_client.post(reverse("brm:requirement_edit", args=[requirement.pk]), {
        "version": requirement.version, "title": "Weekend deliveries", "kind": "new_service",
        "description": "Deliver on Saturdays and Sundays.", "costs": "100",
        "benefits": "250", "owner": world.owner.pk})
    assert response.status_code == 302
    page = owner_client.get(reverse("brm:requirement_version", args=[requirement.pk, 2]))
    body = page.content.decode()
    assert "diff-added" in body and "Deliver on Saturdays and Sundays." in body
    old = owner_client.get(reverse("brm:requirement_version", args=[requirement.pk, 1]))
    assert 'id="old-version"' in old.content.decode()
    assert owner_client.get(reverse("brm:requirement_version",
                                    args=[requirement.pk, 9])).status_code == 404
    requirement.refresh_from_db()
    illegal = owner_client.post(reverse("brm:requirement_transition", args=[requirement.pk]),
                                {"action": "qualify", "version": requirement.version})
    assert illegal.status_code == 400
    ok = owner_client.post(reverse("brm:requirement_transition", args=[requirement.pk]),
                           {"action": "submit", "version": requirement.version})
    assert ok.status_code == 302
    requirement.refresh_from_db()
    assert requirement.status == "submitted"
    stale = owner_client.post(reverse("brm:requirement_transition", args=[requirement.pk]),
                              {"action": "screen", "version": 1})
    assert stale.status_code == 409


def test_bad_form_input_is_a_400_and_changes_nothing(world, owner_client):
    for data in ({"account": "", "title": "x", "description": "y"},
                 {"account": world.account.pk, "title": "x", "description": "y",
                  "costs": "lots"},
                 {"account": "99999999", "title": "x", "description": "y"},
                 {"account": world.account.pk, "title": "", "description": "y"}):
        response = owner_client.post(reverse("brm:requirement_create"),
                                     {"kind": "new_service", **data})
        assert response.status_code == 400, data
        assert 'role="alert"' in response.content.decode()
    assert not Requirement.objects.exists()


def test_member_reads_but_cannot_edit(world, member_client):
    requirement = make_requirement(world)
    assert member_client.get(reverse("brm:requirements")).status_code == 200
    assert member_client.get(reverse("brm:requirement_detail",
                                     args=[requirement.pk])).status_code == 200
    assert member_client.get(reverse("brm:requirement_create")).status_code == 403
    response = member_client.post(reverse("brm:requirement_transition", args=[requirement.pk]),
                                  {"action": "submit", "version": 1})
    assert response.status_code == 403


def test_outsider_gets_404(world, outsider_client):
    requirement = make_requirement(world)
    for name in ("brm:requirement_detail", "brm:requirement_edit"):
        assert outsider_client.get(reverse(name, args=[requirement.pk])).status_code in (403,
                                                                                         404)
    assert outsider_client.get(reverse("brm:requirement_detail",
                                       args=[requirement.pk])).status_code == 404
    body = outsider_client.get(reverse("brm:requirements")).content.decode()
    assert "Weekend deliveries" not in body


def test_list_filters_sort_csv_and_query_count(world, owner_client,
                                               django_assert_max_num_queries):
    for index in range(12):
        make_requirement(world, title=f"Requirement {index:02d}", qualified=index % 3 == 0)
    with django_assert_max_num_queries(12):
        response = owner_client.get(reverse("brm:requirements"))
    assert response.status_code == 200
    body = owner_client.get(reverse("brm:requirements") + "?awaiting=yes").content.decode()
    assert "Requirement 00" in body and "Requirement 01" not in body
    body = owner_client.get(reverse("brm:requirements") + "?status=draft&sort=title"
                            ).content.decode()
    assert body.index("Requirement 01") < body.index("Requirement 02")
    csv_response = owner_client.get(reverse("brm:requirement_export") + "?status=qualified")
    content = b"".join(csv_response.streaming_content).decode()
    assert content.count("REQ-") == 4 and "net_benefit" in content


# --- Portal --------------------------------------------------------------------------------


def test_portal_decision_maker_signs_off_and_staff_see_who_when(world, owner_client):
    requirement = make_requirement(world, qualified=True)
    draft = make_requirement(world, title="Secret draft")
    client = _client(world.decision_maker)
    listing = client.get(reverse("brm:portal_requirements")).content.decode()
    assert "Weekend deliveries" in listing and "Secret draft" not in listing
    assert client.get(reverse("brm:portal_requirement_detail",
                              args=[draft.pk])).status_code == 404
    page = client.get(reverse("brm:portal_requirement_detail", args=[requirement.pk]))
    assert 'id="sign-off-form"' in page.content.decode()
    response = client.post(reverse("brm:portal_requirement_sign", args=[requirement.pk]),
                           {"decision": "approved", "version_number": 1, "comment": "OK"})
    assert response.status_code == 302
    staff = owner_client.get(reverse("brm:requirement_detail", args=[requirement.pk]))
    body = staff.content.decode()
    assert "Bambang Wijaya" in body and 'data-decision="approved"' in body


def test_portal_plain_buyer_403_other_buyer_404(world):
    requirement = make_requirement(world, qualified=True)
    plain = _client(world.plain_buyer)
    page = plain.get(reverse("brm:portal_requirement_detail", args=[requirement.pk]))
    assert page.status_code == 200 and 'id="not-a-signer"' in page.content.decode()
    response = plain.post(reverse("brm:portal_requirement_sign", args=[requirement.pk]),
                          {"decision": "approved", "version_number": 1})
    assert response.status_code == 403
    other = _client(world.other_buyer_user)
    assert other.get(reverse("brm:portal_requirement_detail",
                             args=[requirement.pk])).status_code == 404
    assert other.post(reverse("brm:portal_requirement_sign", args=[requirement.pk]),
                      {"decision": "approved", "version_number": 1}).status_code == 404
    assert "Weekend deliveries" not in other.get(
        reverse("brm:portal_requirements")).content.decode()
    assert not SignOff.objects.exists()


def test_portal_stale_version_409_and_missing_comment_400(world):
    requirement = make_requirement(world, qualified=True)
    requirements.requirement_update(requirement=requirement, actor=world.owner,
                                    version=requirement.version, description="v2 text")
    client = _client(world.decision_maker)
    stale = client.post(reverse("brm:portal_requirement_sign", args=[requirement.pk]),
                        {"decision": "approved", "version_number": 1})
    assert stale.status_code == 409
    no_comment = client.post(reverse("brm:portal_requirement_sign", args=[requirement.pk]),
                             {"decision": "rejected", "version_number": 2})
    assert no_comment.status_code == 400
    assert not SignOff.objects.exists()



def test_portal_home_links_to_requirements_awaiting_sign_off(world):
    make_requirement(world, qualified=True)
    make_requirement(world, title="Still a draft")
    page = _client(world.decision_maker).get(reverse("service:home"))
    assert page.status_code == 200
    body = page.content.decode()
    link = body[body.index('data-link="requirements"'):]
    assert reverse("brm:portal_requirements") in link[:400]
    assert '<span class="badge">1</span>' in link[:400]


def test_portfolio_pages_link_to_the_registers(world, owner_client):
    body = owner_client.get(reverse("brm:home")).content.decode()
    assert f'href="{reverse("brm:requirements")}" id="registers-link"' in body
    registers_page = owner_client.get(reverse("brm:improvements")).content.decode()
    assert f'href="{reverse("brm:home")}"' in registers_page
