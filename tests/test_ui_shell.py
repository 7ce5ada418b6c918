"""The UI shell: dashboard per role, navigation, organization switcher, language, formats."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from jalin.core.models import AuditLog
from jalin.core.pagination import keyset_paginate
from jalin.core.templatetags.jalin_ui import format_money
from jalin.tenancy.middleware import SESSION_KEY
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .conftest import PASSWORD, make_user


def nav_html(response):
    html = response.content.decode()
    start = html.index('<nav class="container main-nav"')
    return html[start:html.index("</nav>", start)]


# --- Dashboard and navigation per role ------------------------------------------------------


def test_dashboard_requires_login(client, org):
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_user_without_membership_is_sent_to_no_organization_page(client, db):
    client.force_login(make_user("loner"))
    response = client.get(reverse("core:dashboard"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("tenancy:no_organization")
    assert b"No organization yet" in response.content


def test_admin_sees_admin_sections_in_nav_and_cards(owner_client, org):
    response = owner_client.get(reverse("core:dashboard"))
    assert response.status_code == 200
    nav = nav_html(response)
    for url_name in ("tenancy:members", "tenancy:audit_log", "tenancy:settings"):
        assert f'href="{reverse(url_name)}"' in nav
    content = response.content.decode()
    assert "Acme Supply" in content
    assert "Organization admin" in content
    # Future modules are described, not linked.
    assert "CRM" in content and "Coming soon" in content


def test_sales_member_nav_hides_admin_sections(member_client, org):
    response = member_client.get(reverse("core:dashboard"))
    nav = nav_html(response)
    assert f'href="{reverse("tenancy:members")}"' in nav
    assert reverse("tenancy:audit_log") not in nav
    assert reverse("tenancy:settings") not in nav
    content = response.content.decode()
    assert "Sales" in content
    assert "Your customers, pipeline and quotes will live here." in content
    # Sales has no finance permission: that card is not offered.
    assert "Credit lines, invoices and payments." not in content


def test_buyer_dashboard_shows_buyer_modules_only(client, other_org):
    buyer = make_user("buyer")
    Membership.objects.create(user=buyer, organization=other_org, role=Role.BUYER)
    client.force_login(buyer)
    content = client.get(reverse("core:dashboard")).content.decode()
    assert "Products, customer prices and stock." in content  # catalog.view
    assert "Leads, opportunities" not in content  # no sales.view
    assert "Who changed what" not in content  # no audit.view


def test_pages_carry_strict_csp_and_no_inline_styles_or_scripts(owner_client, org):
    response = owner_client.get(reverse("core:dashboard"))
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    html = response.content.decode()
    assert " style=" not in html
    assert " onclick=" not in html and " onchange=" not in html
    assert "<script>" not in html  # every script tag carries the nonce and a src


# --- Organization switcher ------------------------------------------------------------------


@pytest.fixture
def two_org_user(org, other_org):
    user = make_user("consultant")
    first = Membership.objects.create(user=user, organization=org, role=Role.SALES)
    second = Membership.objects.create(user=user, organization=other_org, role=Role.VIEWER)
    return user, first, second


def test_switcher_lists_all_memberships_and_marks_current(client, two_org_user):
    user, first, second = two_org_user
    client.force_login(user)
    html = client.get(reverse("core:dashboard")).content.decode()
    assert 'aria-current="true"' in html
    assert f'name="membership" value="{second.pk}"' in html  # the other one is a button
    assert f'name="membership" value="{first.pk}"' not in html  # current is not


def test_switching_organization_changes_active_org(client, two_org_user):
    user, first, second = two_org_user
    client.force_login(user)
    response = client.post(reverse("tenancy:switch"), {"membership": second.pk}, follow=True)
    assert response.status_code == 200
    assert client.session[SESSION_KEY] == second.pk
    assert response.context["active_organization"] == second.organization
    assert "You are now working in Rival Trading." in response.content.decode()


def test_switching_to_someone_elses_membership_is_404(owner_client, outsider):
    foreign = Membership.objects.get(user=outsider)
    response = owner_client.post(reverse("tenancy:switch"), {"membership": foreign.pk})
    assert response.status_code == 404
    assert SESSION_KEY not in owner_client.session


def test_switch_ignores_offsite_next(client, two_org_user):
    user, _first, second = two_org_user
    client.force_login(user)
    response = client.post(
        reverse("tenancy:switch"), {"membership": second.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("core:dashboard")


# --- Language and locale formats ------------------------------------------------------------


def test_set_language_renders_dashboard_in_indonesian(owner_client, org):
    response = owner_client.post(
        reverse("set_language"), {"language": "id", "next": reverse("core:dashboard")}
    )
    assert response.status_code == 302
    html = owner_client.get(reverse("core:dashboard")).content.decode()
    assert '<html lang="id">' in html
    assert "Dasbor" in html
    assert "Anggota" in html  # nav: Members
    assert "Admin organisasi" in html  # role label
    assert "Segera hadir" in html


def test_accept_language_header_picks_indonesian(org, owner):
    client = Client(headers={"accept-language": "id"})
    client.force_login(owner)
    assert "Dasbor" in client.get(reverse("core:dashboard")).content.decode()


def test_language_switch_keeps_working_when_english_chosen_again(owner_client, org):
    owner_client.post(reverse("set_language"), {"language": "id"})
    owner_client.post(reverse("set_language"), {"language": "en"})
    assert "Dashboard" in owner_client.get(reverse("core:dashboard")).content.decode()


def test_dates_follow_the_language(owner_client, org, owner):
    membership = Membership.objects.get(user=owner)
    membership.created_at = membership.created_at.replace(year=2026, month=3, day=9)
    membership.save()
    english = owner_client.get(reverse("tenancy:members")).content.decode()
    assert "March 9, 2026" in english
    owner_client.post(reverse("set_language"), {"language": "id"})
    indonesian = owner_client.get(reverse("tenancy:members")).content.decode()
    assert "9 Maret 2026" in indonesian


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("id", Decimal("1234567"), "IDR", "Rp\u00a01.234.567"),
        ("en", Decimal("1234567"), "IDR", "IDR\u00a01,234,567"),
        ("id", Decimal("1234567.50"), "IDR", "Rp\u00a01.234.567,50"),  # a real fraction stays
        ("en", Decimal("-2500"), "IDR", "-IDR\u00a02,500"),
        ("en", Decimal("1234.5"), "USD", "$\u00a01,234.50"),
        ("id", Decimal("1234.5"), "USD", "US$\u00a01.234,50"),
        ("en", Decimal("1000"), "JPY", "¥\u00a01,000"),
    ],
)
def test_money_formats_per_language_with_babel_minor_units(language, amount, currency, expected):
    with translation.override(language):
        assert format_money(amount, currency) == expected


def test_money_filter_in_templates_defaults_to_idr():
    from django.template import Context, Template

    template = Template("{% load jalin_ui %}{{ amount|money }}|{{ amount|money:'usd' }}")
    with translation.override("id"):
        rendered = template.render(Context({"amount": 1234567}))
        assert rendered == "Rp\u00a01.234.567|US$\u00a01.234.567,00"
    with translation.override("en"):
        assert template.render(Context({"amount": None})) == "|"


# --- Keyset pagination helper ---------------------------------------------------------------


def _audit_rows(org, owner, count):
    from jalin.core.audit import audit_record

    return [audit_record(actor=owner, organization=org, action=f"test.{i}") for i in range(count)]


def test_keyset_pagination_walks_older_and_back_newer(org, owner, django_assert_max_num_queries):
    rows = _audit_rows(org, owner, 7)
    queryset = AuditLog.objects.for_org(org)
    first = keyset_paginate(queryset, {}, per_page=3)
    assert [r.pk for r in first] == [r.pk for r in rows[::-1][:3]]
    assert first.has_older and not first.has_newer

    with django_assert_max_num_queries(2):  # one LIMIT page + one EXISTS probe, no COUNT
        second = keyset_paginate(queryset, {"before": str(first.older_cursor)}, per_page=3)
    assert [r.pk for r in second] == [r.pk for r in rows[::-1][3:6]]
    assert second.has_older and second.has_newer

    last = keyset_paginate(queryset, {"before": str(second.older_cursor)}, per_page=3)
    assert [r.pk for r in last] == [rows[0].pk]
    assert not last.has_older and last.has_newer

    back = keyset_paginate(queryset, {"after": str(last.newer_cursor)}, per_page=3)
    assert [r.pk for r in back] == [r.pk for r in second]
    assert back.has_newer and back.has_older


def test_keyset_pagination_ignores_garbage_cursor(org, owner):
    _audit_rows(org, owner, 2)
    page = keyset_paginate(AuditLog.objects.for_org(org), {"before": "x'; DROP"}, per_page=5)
    assert len(page) == 2 and not page.is_paginated


def test_keyset_pagination_issues_no_count(org, owner):
    _audit_rows(org, owner, 4)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        keyset_paginate(AuditLog.objects.for_org(org), {"before": "999999"}, per_page=2)
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_login_through_real_form_lands_on_dashboard(client, owner):
    response = client.post(
        reverse("accounts:login"), {"username": "owner", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("core:dashboard")
