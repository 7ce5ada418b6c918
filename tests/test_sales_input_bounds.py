"""Numbers beyond what a database column holds, in query strings and forms of the sales
pages, get a page or a 4xx, never a 500: SQLite's driver raises OverflowError for an int past
64 bits, so request numbers go through `jalin.core.params.int_param`."""

import pytest

from jalin.core.params import DB_INT_MAX, int_param
from jalin.sales.models import LeadWebForm, ScoringRule, Territory

BIG = "9" * 25


@pytest.mark.parametrize("value, expected", [
    ("42", 42), (" 7 ", 7), ("-3", -3), ("abc", None), ("", None), (None, None), ("1.5", None),
    (BIG, DB_INT_MAX), ("-" + BIG, -DB_INT_MAX),
])
def test_int_param(value, expected):
    assert int_param(value) == expected


@pytest.mark.parametrize("url", [
    f"/sales/leads/?owner={BIG}",
    f"/sales/leads/?min_score=-{BIG}",
    f"/sales/pipeline/?owner={BIG}",
    f"/sales/opportunities/?team={BIG}",
    f"/sales/forecast/?owner={BIG}",
    f"/sales/forecast/?team={BIG}",
    f"/sales/opportunities/new/?account={BIG}",
])
def test_huge_numbers_in_query_strings(owner_client, url):
    assert owner_client.get(url).status_code in (200, 400, 404)


def test_huge_ids_in_forms_write_nothing(owner_client, org):
    assert owner_client.post("/sales/leads/rules/", {"kind": "scoring", "rule": BIG}
                             ).status_code in (400, 404)
    assert owner_client.post("/sales/leads/rules/", {"kind": "territory", "territory": BIG}
                             ).status_code in (400, 404)
    response = owner_client.post("/sales/web-forms/new/", {
        "name": "Kontak", "default_owner": BIG, "campaign": BIG})
    assert response.status_code in (200, 400, 404, 422)
    assert not ScoringRule.objects.filter(organization=org).exists()
    assert not Territory.objects.filter(organization=org).exists()
    assert not LeadWebForm.objects.filter(organization=org).exists()
