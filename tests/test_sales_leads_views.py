"""Lead pages: dashboard, list (filters, keyset, CSV, query count), detail with score
explanation, convert (twice is 409), disqualify, rules admin, import (all or nothing), web form
admin and the public web form with its spam protections; three personas."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from jalin.sales import leads, webforms
from jalin.sales.models import AssignmentRule, Lead, LeadWebForm, ScoringRule, Territory
from jalin.tenancy.models import Membership, Role
from tests.conftest import make_user

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def make_lead(org, actor, **fields):
    fields.setdefault("email", "lead@example.co.id")
    return leads.lead_create(organization=org, actor=actor, **fields)


def test_pages_three_personas(org, owner, owner_client, member_client, outsider_client):
    lead = make_lead(org, owner, company="PT Maju")
    form = webforms.webform_save(organization=org, actor=owner, name="Contact")
    for name, args in (("sales:home", []), ("sales:leads", []), ("sales:lead_rules", []),
                       ("sales:web_forms", []), ("sales:lead_detail", [lead.pk]),
                       ("sales:lead_new", []), ("sales:lead_import", []),
                       ("sales:web_form_edit", [form.pk])):
        url = reverse(name, args=args)
        assert owner_client.get(url).status_code == 200, url
        assert member_client.get(url).status_code == 200, url
    assert outsider_client.get(reverse("sales:lead_detail", args=[lead.pk])).status_code == 404
    assert outsider_client.get(reverse("sales:web_form_edit", args=[form.pk])).status_code == 404
    assert outsider_client.post(reverse("sales:lead_convert", args=[lead.pk])).status_code == 404
    assert "PT Maju" not in outsider_client.get(reverse("sales:leads")).content.decode()
    assert Lead.objects.get(pk=lead.pk).status == "new"


def test_list_filters_keyset_csv_and_query_count(org, owner, owner_client,
                                                 django_assert_max_num_queries):
    for index in range(60):
        make_lead(org, owner, email=f"l{index}@x.co", company=f"Co {index}",
                  owner=owner if index % 2 else None)
    with django_assert_max_num_queries(14):
        response = owner_client.get(reverse("sales:leads"))
    assert response.status_code == 200
    page = response.context["page"]
    assert len(page.items) == 50 and page.next_cursor
    second = owner_client.get(reverse("sales:leads"), {"cursor": page.next_cursor})
    assert len(second.context["page"].items) == 10
    mine = owner_client.get(reverse("sales:leads"), {"owner": "mine", "sort": "score"})
    assert all(lead.owner_id == owner.pk for lead in mine.context["page"].items)
    assert owner_client.get(reverse("sales:leads"), {"cursor": "garbage"}).status_code == 200
    export = owner_client.get(reverse("sales:lead_export"), {"owner": "none"})
    body = b"".join(export.streaming_content).decode()
    assert body.count("\n") == 31 and "l0@x.co" in body


def test_detail_explains_score_and_convert_lands_on_the_record(org, owner, owner_client):
    ScoringRule.objects.create(organization=org, label="Construction", field="industry",
                               operator="equals", value="construction", points=15)
    lead = make_lead(org, owner, first_name="Ani", last_name="W", company="PT Maju",
                     industry="Construction")
    page = owner_client.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert "Construction" in page and "+15" in page
    response = owner_client.post(reverse("sales:lead_convert", args=[lead.pk]),
                                 {"version": lead.version, "opportunity": "1", "amount": "1000"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_opportunity.amount == 1000
    again = owner_client.post(reverse("sales:lead_convert", args=[lead.pk]),
                              {"opportunity": "1"})
    assert again.status_code == 409
    assert Lead.objects.get(pk=lead.pk).converted_opportunity_id == lead.converted_opportunity_id


def test_disqualify_and_bad_input(org, owner, owner_client):
    lead = make_lead(org, owner)
    response = owner_client.post(reverse("sales:lead_disqualify", args=[lead.pk]),
                                 {"reason": ""})
    assert response.status_code == 400
    response = owner_client.post(reverse("sales:lead_convert", args=[lead.pk]),
                                 {"account": "999999"})
    assert response.status_code == 400 and Lead.objects.get(pk=lead.pk).status == "new"
    response = owner_client.post(reverse("sales:lead_disqualify", args=[lead.pk]),
                                 {"reason": "Competitor", "version": lead.version})
    assert response.status_code == 302 and Lead.objects.get(pk=lead.pk).status == "disqualified"
    response = owner_client.post(reverse("sales:lead_new"), {"email": "bad"})
    assert response.status_code == 400 and Lead.objects.count() == 1


def test_rules_admin(org, owner, member, owner_client):
    url = reverse("sales:lead_rules")
    assert owner_client.post(url, {"kind": "scoring", "label": "Company mail", "field": "email",
                                   "operator": "not_free_email_domain", "points": "10"}
                             ).status_code == 302
    assert owner_client.post(url, {"kind": "scoring", "label": "x", "field": "email",
                                   "operator": "nope", "points": "1"}).status_code == 400
    assert owner_client.post(url, {"kind": "assignment", "name": "RR", "method": "round_robin",
                                   "users": [owner.pk, member.pk]}).status_code == 302
    assert owner_client.post(url, {"kind": "territory", "name": "Java", "country": "ID",
                                   "region": "Jawa Barat, Banten", "members": [member.pk]}
                             ).status_code == 302
    assert ScoringRule.objects.count() == 1 and AssignmentRule.objects.count() == 1
    assert Territory.objects.get().criteria == {"country": ["ID"],
                                                "region": ["Jawa Barat", "Banten"]}
    assert owner_client.get(url).status_code == 200


def test_import_all_or_nothing(org, owner, owner_client):
    url = reverse("sales:lead_import")
    bad = SimpleUploadedFile("leads.csv", b"first_name,email,phone,colour\nAni,ani@x.co,,red\n"
                             b"Budi,not-an-email,,blue\n", content_type="text/csv")
    response = owner_client.post(url, {"file": bad})
    assert response.status_code == 400 and Lead.objects.count() == 0
    assert response.context["result"].errors[0]["line"] == 3
    good = SimpleUploadedFile("leads.csv", "\ufefffirst_name;Email;opt in\nAni;ANI@x.co;yes\n"
                              "Budi;budi@y.co;\n".encode(), content_type="text/csv")
    assert owner_client.post(url, {"file": good}).status_code == 302
    assert sorted(Lead.objects.values_list("email", "source", "email_opt_in")) == [
        ("ani@x.co", "import", True), ("budi@y.co", "import", False)]
    big = SimpleUploadedFile("big.csv", b"email\n" + b"a@b.co\n" * 400_000)
    assert owner_client.post(url, {"file": big}).status_code == 400
    assert Lead.objects.count() == 2


# --- Web forms -----------------------------------------------------------------------------


@pytest.fixture
def web_form(org, owner):
    return webforms.webform_save(organization=org, actor=owner, name="Contact us",
                                 fields=["first_name", "last_name", "company", "email"],
                                 allowed_origins="https://www.acme.co.id",
                                 thank_you="Terima kasih!")


def fill(client, form, *, at, after=8, origin="http://testserver", **extra):
    url = reverse("sales:web_form_public", args=[form.key])
    with time_machine.travel(at, tick=False):
        page = client.get(url + "?utm_source=newsletter")
    body = {"ts": page.context["token"], "first_name": "Dewi", "last_name": "Lestari",
            "company": "CV Sinar", "email": "Dewi@Sinar.co.id", "utm_source": "newsletter"}
    body.update(extra)
    with time_machine.travel(at + datetime.timedelta(seconds=after), tick=False):
        return client.post(url, body, HTTP_ORIGIN=origin)


def test_public_form_renders_framable_by_allowed_sites_only(web_form):
    response = Client().get(reverse("sales:web_form_public", args=[web_form.key]))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.acme.co.id" in csp
    assert "X-Frame-Options" not in response
    assert webforms.HONEYPOT in response.content.decode()


def test_public_form_creates_a_lead(web_form, org):
    response = fill(Client(), web_form, at=T0)
    assert response.status_code == 200 and "Terima kasih!" in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.source, lead.email, lead.web_form_id, lead.utm, lead.email_opt_in) == (
        "web_form", "dewi@sinar.co.id", web_form.pk, {"utm_source": "newsletter"}, False)
    fill(Client(), web_form, at=T0, email="b@c.co", email_opt_in="1")
    assert Lead.objects.get(email="b@c.co").email_opt_in is True


@pytest.mark.parametrize("case, status", [
    ("honeypot", 400), ("too_fast", 400), ("forged", 400), ("origin", 403), ("oversized", 413),
])
def test_public_form_spam_protections(web_form, case, status):
    client = Client()
    url = reverse("sales:web_form_public", args=[web_form.key])
    if case == "honeypot":
        response = fill(client, web_form, at=T0, **{webforms.HONEYPOT: "http://spam"})
    elif case == "too_fast":
        response = fill(client, web_form, at=T0, after=1)
    elif case == "forged":
        response = client.post(url, {"ts": "x:y:z", "email": "a@b.co"})
    elif case == "origin":
        response = fill(client, web_form, at=T0, origin="https://evil.example")
    else:
        response = client.post(url, {"ts": "", "message": "x" * 20000, "email": "a@b.co"})
    assert response.status_code == status
    assert not Lead.objects.exists()


def test_public_form_rate_limit_per_ip(web_form):
    client = Client()
    statuses = [fill(client, web_form, at=T0, email=f"r{i}@x.co").status_code
                for i in range(webforms.RATE_LIMIT + 1)]
    assert statuses[:-1] == [200] * webforms.RATE_LIMIT and statuses[-1] == 429
    assert Lead.objects.count() == webforms.RATE_LIMIT


def test_public_form_json_post_with_cors(web_form):
    client = Client()
    url = reverse("sales:web_form_public", args=[web_form.key])
    with time_machine.travel(T0, tick=False):
        token = client.get(url, {"format": "json"}, HTTP_ORIGIN="https://www.acme.co.id"
                           ).json()["token"]
    with time_machine.travel(T0 + datetime.timedelta(seconds=5), tick=False):
        refused = client.post(url, {"ts": token, "email": "j@x.co"},
                              content_type="application/json", HTTP_ORIGIN="https://evil.test")
        ok = client.post(url, {"ts": token, "email": "j@x.co", "email_opt_in": True},
                         content_type="application/json", HTTP_ORIGIN="https://www.acme.co.id")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused
    assert ok.status_code == 201 and ok["Access-Control-Allow-Origin"] == "https://www.acme.co.id"
    assert Lead.objects.get().email_opt_in is True
    preflight = client.options(url, HTTP_ORIGIN="https://www.acme.co.id")
    assert preflight.status_code == 204


def test_inactive_or_unknown_form_is_404(web_form):
    LeadWebForm.objects.filter(pk=web_form.pk).update(is_active=False)
    assert Client().get(reverse("sales:web_form_public", args=[web_form.key])).status_code == 404
    assert Client().get(reverse("sales:web_form_public", args=["nope"])).status_code == 404


def test_web_form_admin(org, owner, owner_client):
    response = owner_client.post(reverse("sales:web_form_new"), {
        "name": "Expo", "fields": ["email", "company"], "allowed_origins": "ftp://bad",
        "is_active": "1"})
    assert response.status_code == 400 and not LeadWebForm.objects.exists()
    response = owner_client.post(reverse("sales:web_form_new"), {
        "name": "Expo", "fields": ["email", "company"],
        "allowed_origins": "https://expo.example.com/\nhttps://www.example.com",
        "is_active": "1"})
    form = LeadWebForm.objects.get()
    assert response.status_code == 302 and form.allowed_origins == [
        "https://expo.example.com", "https://www.example.com"]
    page = owner_client.get(reverse("sales:web_form_edit", args=[form.pk])).content.decode()
    assert "&lt;iframe" in page and form.key in page


def test_member_without_sales_edit_cannot_change(org, owner):
    user = make_user("viewer")
    Membership.objects.create(user=user, organization=org, role=Role.FINANCE)
    client = Client()
    client.force_login(user)
    lead = make_lead(org, owner)
    assert client.get(reverse("sales:leads")).status_code == 403
    assert client.post(reverse("sales:lead_convert", args=[lead.pk])).status_code == 403
