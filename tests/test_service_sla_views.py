"""SLA settings pages and API (calendars, holidays, policies, escalation rules) and the
attainment report page, CSV and API, with the three personas."""

import pytest
from django.urls import reverse

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.core.models import AuditLog
from jalin.service.models import (
    BusinessCalendar,
    CaseStatus,
    EscalationRule,
    Holiday,
    SlaPolicy,
    SlaResult,
    SlaTarget,
)
from jalin.tenancy.models import Membership
from tests.sla_world import make_account, make_policy, open_case, set_status, wib

pytestmark = pytest.mark.django_db


def api_for(user, org):
    return ApiClient(token=bearer_token_for(Membership.objects.get(user=user, organization=org)))


def calendar_form(**extra):
    data = {"form": "calendar", "name": "Jakarta office", "time_zone": "Asia/Jakarta",
            "country": "ID", "hours_1": "08:00-12:00, 13:00-17:00", "hours_2": "08:00-17:00"}
    data.update(extra)
    return data


# --- Pages ---------------------------------------------------------------------------------


def test_owner_adds_a_calendar_with_split_hours_and_public_holidays(owner_client, org):
    response = owner_client.post(reverse("service:sla_settings"), calendar_form())
    calendar = BusinessCalendar.objects.get(organization=org)
    assert response.status_code == 302
    assert calendar.weekly_hours == {"1": [["08:00", "12:00"], ["13:00", "17:00"]],
                                     "2": [["08:00", "17:00"]]}
    assert Holiday.objects.filter(calendar=calendar, preloaded=True).exists()
    assert AuditLog.objects.filter(action="service.calendar.created").exists()
    page = owner_client.get(reverse("service:sla_calendar", args=[calendar.pk]))
    assert page.status_code == 200 and "13:00-17:00" in page.content.decode()


@pytest.mark.parametrize("hours, message", [
    ("25:00-26:00", "not a time of day"),
    ("17:00-08:00", "must end after it starts"),
    ("08:00-12:00, 11:00-13:00", "overlap"),
    ("8 to 5", "HH:MM-HH:MM"),
])
def test_bad_hours_are_a_422_and_change_nothing(owner_client, org, hours, message):
    response = owner_client.post(reverse("service:sla_settings"), calendar_form(hours_1=hours))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_editing_a_calendar_checks_hours_and_version(owner_client, org):
    policy = make_policy(org, holidays=False)
    url = reverse("service:sla_calendar", args=[policy.calendar.pk])
    data = {"name": "Changed", "time_zone": "Asia/Jakarta", "country": "",
            "hours_1": "08:00-24:00", "version": policy.calendar.version}
    assert owner_client.post(url, {**data, "hours_1": "08:00-24:30"}).status_code == 422
    assert owner_client.post(url, {**data, "time_zone": "Mars/Base"}).status_code == 422
    assert owner_client.post(url, {**data, "version": 99}).status_code == 409
    assert BusinessCalendar.objects.get().name == "Gold hours"
    assert owner_client.post(url, data).status_code == 302
    assert BusinessCalendar.objects.get().weekly_hours == {"1": [["08:00", "24:00"]]}


def test_holidays_added_and_removed_on_the_page(owner_client, org):
    policy = make_policy(org, holidays=False)
    calendar = policy.calendar
    add = reverse("service:sla_calendar_holiday_add", args=[calendar.pk])
    owner_client.post(add, {"date": "2026-12-31", "name": "Company day"})
    owner_client.post(add, {"date": "not a date", "name": "Bad"})
    holiday = Holiday.objects.get(calendar=calendar)
    assert holiday.name == "Company day" and not holiday.preloaded
    owner_client.post(reverse("service:sla_holiday_remove", args=[holiday.pk]))
    assert not Holiday.objects.exists()


def test_policy_targets_are_edited_on_a_grid_with_clear_errors(owner_client, org):
    policy = make_policy(org)
    url = reverse("service:sla_policy", args=[policy.pk])
    page = owner_client.get(url)
    assert page.status_code == 200 and 'name="target_critical_first_response"' in \
        page.content.decode()
    data = {"name": "Gold", "calendar": policy.calendar.pk, "warn_at_percent": "80",
            "required_attainment_percent": "90", "version": policy.version,
            "target_critical_first_response": "15", "target_low_resolution": ""}
    bad = owner_client.post(url, {**data, "target_critical_first_response": "-5"})
    assert bad.status_code == 422
    assert owner_client.post(url, {**data, "warn_at_percent": "100"}).status_code == 422
    assert SlaTarget.objects.get(policy=policy, priority="critical",
                                 metric="first_response").minutes == 15
    assert owner_client.post(url, data).status_code == 302
    policy.refresh_from_db()
    assert policy.warn_at_percent == 80
    assert not SlaTarget.objects.filter(policy=policy, priority="low",
                                        metric="resolution").exists()


def test_member_reads_but_cannot_change_settings(member_client, org):
    policy = make_policy(org)
    assert member_client.get(reverse("service:sla_settings")).status_code == 200
    assert member_client.get(reverse("service:sla_policy", args=[policy.pk])).status_code == 200
    assert member_client.post(reverse("service:sla_settings"), calendar_form()).status_code == 403
    assert member_client.post(reverse("service:sla_policy_archive",
                                      args=[policy.pk])).status_code == 403
    assert BusinessCalendar.objects.count() == 1


def test_outsider_gets_404_on_settings_records(outsider_client, org):
    policy = make_policy(org)
    for url in (reverse("service:sla_calendar", args=[policy.calendar.pk]),
                reverse("service:sla_policy", args=[policy.pk])):
        assert outsider_client.get(url).status_code == 404
    page = outsider_client.get(reverse("service:sla_settings"))
    assert page.status_code == 200 and "Gold" not in page.content.decode()


def test_defaults_button_and_escalation_rules_on_the_page(owner_client, org, owner):
    response = owner_client.post(reverse("service:sla_settings"), {"form": "defaults"})
    assert response.status_code == 302
    assert SlaPolicy.objects.get(organization=org).is_default
    bad = owner_client.post(reverse("service:sla_settings"), {
        "form": "rule", "name": "Boss", "trigger": "breach", "action": "notify_user"})
    assert bad.status_code == 422 and "Choose the user" in bad.content.decode()
    ok = owner_client.post(reverse("service:sla_settings"), {
        "form": "rule", "name": "Boss", "trigger": "breach", "action": "notify_user",
        "user": owner.pk, "is_active": "1"})
    assert ok.status_code == 302
    rule = EscalationRule.objects.get()
    assert owner_client.get(reverse("service:sla_rule", args=[rule.pk])).status_code == 200


@pytest.fixture
def decided(org, owner):
    make_policy(org, first=60, resolution=8 * 60)
    account = make_account(org, "Toko Maju")
    for day, hours, minutes in ((5, 8, 30), (6, 17, 0)):  # October: a month that is over
        case = open_case(org, now=wib(2026, 10, day, 8, 0), account=account)
        set_status(case, CaseStatus.RESOLVED, now=wib(2026, 10, day, hours, minutes))
    return account


def test_report_page_chart_table_and_csv(owner_client, decided, django_assert_max_num_queries):
    url = reverse("service:sla_report") + "?group_by=account&first=2026-10&last=2026-10"
    with django_assert_max_num_queries(20):
        page = owner_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-chart="sla-attainment-chart"' in body and "Toko Maju" in body
    assert "50.00" in body  # 1 of 2 met on each target
    csv_response = owner_client.get(url + "&format=csv")
    content = b"".join(csv_response.streaming_content).decode()
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "Toko Maju,2026-10,4,2,2,50.00,95.00,no,no" in content
    bad = owner_client.get(reverse("service:sla_report") + "?first=2026-13")
    assert bad.status_code == 422


def test_recording_a_month_from_the_report_page(owner_client, member_client, decided):
    url = reverse("service:sla_results_record")
    assert member_client.post(url, {"period": "2026-10"}).status_code == 403
    owner_client.post(url, {"period": "2026-10"})
    assert SlaResult.objects.count() == 2
    owner_client.post(url, {"period": "2999-01"})  # not over: refused with a message
    assert SlaResult.objects.count() == 2


# --- API -----------------------------------------------------------------------------------


def test_api_calendars_holidays_and_validation(org, owner):
    api = api_for(owner, org)
    bad = api.post("/service/calendars", {
        "name": "Bad", "weekly_hours": {"1": [["08:00", "25:00"]]}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "weekly_hours.1"
    assert api.post("/service/calendars", {
        "name": "Bad", "weekly_hours": {"1": [["09:00", "08:00"]]}}).status_code == 422
    assert api.post("/service/calendars", {
        "name": "Bad", "weekly_hours": {"1": [["08:00", "12:00"], ["11:00", "13:00"]]}},
    ).status_code == 422
    assert not BusinessCalendar.objects.exists()
    created = api.post("/service/calendars", {"name": "Jakarta", "load_holidays": False})
    assert created.status_code == 201
    calendar = created.json()
    assert calendar["weekly_hours"]["5"] == [["08:00", "17:00"]]
    url = f"/service/calendars/{calendar['id']}"
    loaded = api.post(url + "/public-holidays", {"years": [2026]})
    assert loaded.status_code == 200 and loaded.json()["added"] > 10
    assert api.post(url + "/public-holidays", {"years": [2026]}).json()["added"] == 0
    holidays = api.get(url + "/holidays?year=2026&limit=200").json()["items"]
    assert {"date": "2026-12-25", "name": "Hari Raya Natal"}.items() <= next(
        h for h in holidays if h["date"] == "2026-12-25").items()
    own = api.post(url + "/holidays", {"date": "2026-12-31", "name": "Company day"})
    assert own.status_code == 201
    assert api.post(url + "/holidays", {"date": "2026-12-31", "name": "Again"}).status_code == 422
    assert api.delete(f"{url}/holidays/{own.json()['id']}").status_code == 204
    stale = api.patch(url, {"version": 99, "name": "X"})
    assert stale.status_code == 409
    patched = api.patch(url, {"version": 1, "always_open": True})
    assert patched.status_code == 200 and patched.json()["always_open"] is True


def test_api_policies_rules_and_permissions(org, owner, member, outsider, other_org):
    api = api_for(owner, org)
    calendar = api.post("/service/calendars", {"name": "Jakarta",
                                                      "load_holidays": False}).json()
    bad = api.post("/service/sla-policies", {
        "name": "Gold", "calendar_id": calendar["id"],
        "targets": [{"priority": "urgent", "metric": "resolution", "minutes": 60}]})
    assert bad.status_code == 422 and not SlaPolicy.objects.exists()
    created = api.post("/service/sla-policies", {
        "name": "Gold", "calendar_id": calendar["id"], "is_default": True,
        "targets": [{"priority": "high", "metric": "resolution", "minutes": 240}]})
    assert created.status_code == 201
    policy = created.json()
    assert policy["targets"] == [{"priority": "high", "metric": "resolution", "minutes": 240}]
    patched = api.patch(f"/service/sla-policies/{policy['id']}", {
        "version": 1, "targets": [{"priority": "high", "metric": "resolution", "minutes": None},
                                  {"priority": "low", "metric": "first_response",
                                   "minutes": 600}]})
    assert patched.status_code == 200
    assert patched.json()["targets"] == [{"priority": "low", "metric": "first_response",
                                          "minutes": 600}]
    rule = api.post("/service/escalation-rules", {
        "name": "Raise", "trigger": "breach", "action": "raise_priority"})
    assert rule.status_code == 201
    assert api.post("/service/escalation-rules", {
        "name": "Team", "trigger": "warning", "action": "reassign_team"}).status_code == 422
    members = api_for(member, org)
    assert members.get("/service/sla-policies").status_code == 200
    assert members.post("/service/escalation-rules", {
        "name": "X", "trigger": "breach", "action": "raise_priority"}).status_code == 403
    outsiders = api_for(outsider, other_org)
    assert outsiders.get(f"/service/sla-policies/{policy['id']}").status_code == 404
    assert outsiders.get("/service/escalation-rules").json()["items"] == []


def test_api_report_and_results(org, owner, decided):
    api = api_for(owner, org)
    report = api.get("/service/sla-report?group_by=account&first=2026-10")
    assert report.status_code == 200
    rows = report.json()["rows"]
    assert [(r["label"], r["total"], r["achieved"], r["attainment_percent"]) for r in rows] == [
        ("Toko Maju", 4, 2, "50.00")]
    assert api.get("/service/sla-report?group_by=colour").status_code == 422
    assert api.get(f"/service/sla-report?account={decided.pk + 1000}").status_code == 404
    assert api.post("/service/sla-results/record",
                    {"period": "2999-01"}).status_code == 422
    recorded = api.post("/service/sla-results/record", {"period": "2026-10"})
    assert recorded.status_code == 200 and len(recorded.json()) == 2
    listed = api.get("/service/sla-results?period=2026-10").json()["items"]
    assert sorted((r["metric"], r["total"], r["met"]) for r in listed) == [
        ("first_response", 2, False), ("resolution", 2, False)]
