"""Results and plan pages and their API: figures shown, warning shown, CSV, htmx partial, bad
input 4xx, permissions; the outsider gets 404 everywhere."""

import csv
import io

import pytest
from statsmodels.stats.proportion import proportions_ztest

from jalin.api.testing import ApiClient, bearer_token_for
from jalin.sales.experiment_stats import sample_size_per_group
from jalin.tenancy.models import Membership
from tests.experiments_world import add_recipients, make_campaign, make_segment


def api_for(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return ApiClient(token=bearer_token_for(membership))


@pytest.fixture
def experiment(org):
    campaign, (a, b) = make_campaign(org, name="Cement promo", holdout_percent=10,
                                     baseline_rate=5, minimum_detectable_effect=2)
    add_recipients(campaign, None, 300, converted=12)
    add_recipients(campaign, a, 1300, converted=65, opened=600, clicked=130)
    add_recipients(campaign, b, 1310, converted=92, opened=640, clicked=150, skipped=4)
    return campaign


def test_results_page_shows_figures_statements_and_warning(member_client, experiment,
                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(16):
        response = member_client.get(f"/sales/campaigns/{experiment.pk}/results/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cement promo" in page
    _z, p = proportions_ztest([92, 12], [1310, 300])
    assert f"p = {p:.3f}" in page
    assert "after Holm adjustment" in page
    # 300 in the holdout < the planned sample per group: the peeking warning shows.
    assert 'id="peeking-warning"' in page and 'data-warning="underpowered"' in page
    planned = sample_size_per_group(baseline_rate=0.05, minimum_detectable_effect=0.02)
    assert f"{planned:,}" in page
    assert 'data-chart="campaign-metric-chart"' in page
    assert "<script>" not in page  # charts go through json_script + charts.js


def test_results_csv(member_client, experiment):
    response = member_client.get(f"/sales/campaigns/{experiment.pk}/results/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["group"] for row in rows] == ["Holdout (sent nothing)", "A", "B"]
    assert rows[0]["control"] == "yes" and rows[2]["skipped"] == "4"
    _z, p = proportions_ztest([92, 12], [1310, 300])
    assert float(rows[2]["p_value"]) == pytest.approx(p, rel=1e-9)


def test_plan_page_and_htmx_partial(member_client, org, experiment):
    response = member_client.get(f"/sales/campaigns/{experiment.pk}/plan/")
    assert response.status_code == 200
    planned = sample_size_per_group(baseline_rate=0.05, minimum_detectable_effect=0.02)
    assert f"{planned:,}" in response.content.decode()
    # What-if values override the campaign's.
    response = member_client.get(f"/sales/campaigns/{experiment.pk}/plan/",
                                 {"baseline_rate": "10", "minimum_detectable_effect": "2"})
    assert "3,841" in response.content.decode()

    segment = make_segment(org)
    partial = member_client.get("/sales/campaigns/plan/", {
        "baseline_rate": "10", "minimum_detectable_effect": "2", "weights": "1,1",
        "segment": segment.pk}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in body
    assert "3,841" in body and "7,682" in body and 'id="plan-verdict"' in body
    bad = member_client.get("/sales/campaigns/plan/", {"baseline_rate": "abc"},
                            HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and 'id="plan-error"' in bad.content.decode()
    page = member_client.get("/sales/campaigns/plan/", {"baseline_rate": "abc"})
    assert page.status_code == 400
    assert member_client.get("/sales/campaigns/plan/", {"weights": "1,x"}).status_code == 400
    assert member_client.get("/sales/campaigns/plan/", {"segment": "999999"}).status_code == 400


def test_outsider_gets_404(outsider_client, experiment, org):
    segment = make_segment(org, "Ours")
    assert outsider_client.get(f"/sales/campaigns/{experiment.pk}/results/").status_code == 404
    assert outsider_client.get(f"/sales/campaigns/{experiment.pk}/results/?format=csv"
                               ).status_code == 404
    assert outsider_client.get(f"/sales/campaigns/{experiment.pk}/plan/").status_code == 404
    # Someone else's segment is "no such segment", not its size.
    response = outsider_client.get("/sales/campaigns/plan/", {"segment": segment.pk,
                                                              "baseline_rate": "5",
                                                              "minimum_detectable_effect": "1"})
    assert response.status_code == 400 and "Ours" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, experiment):
    response = client.get(f"/sales/campaigns/{experiment.pk}/results/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_results_api(org, owner, outsider, other_org, experiment,
                     django_assert_max_num_queries):
    api = api_for(owner, org)
    with django_assert_max_num_queries(14):
        response = api.get(f"/sales/campaigns/{experiment.pk}/results")
    assert response.status_code == 200, response.content
    data = response.json()
    assert [g["name"] for g in data["groups"]] == ["Holdout (sent nothing)", "A", "B"]
    assert data["groups"][0]["is_control"] and data["holm_adjusted"]
    assert data["warning"] == "underpowered" and data["warning_text"]
    b = data["comparisons"][1]
    z, p = proportions_ztest([92, 12], [1310, 300])
    assert b["p_value"] == pytest.approx(p, rel=1e-9)
    assert b["statistic"] == pytest.approx(z, rel=1e-9)
    assert b["difference"] == pytest.approx(92 / 1310 - 12 / 300)
    assert b["statement"].startswith("B converts")
    outsider_api = api_for(outsider, other_org)
    assert outsider_api.get(f"/sales/campaigns/{experiment.pk}/results").status_code == 404
    assert outsider_api.get(f"/sales/campaigns/{experiment.pk}/plan").status_code == 404


def test_plan_api(org, owner, experiment):
    api = api_for(owner, org)
    data = api.get(f"/sales/campaigns/{experiment.pk}/plan").json()
    assert data["per_group"] == sample_size_per_group(baseline_rate=0.05,
                                                      minimum_detectable_effect=0.02)
    # Holdout 10%, A and B 45% each: the holdout decides.
    assert data["total_needed"] == -(-data["per_group"] * 10 // 1)
    free = api.get("/sales/experiments/plan", data={"baseline_rate": "10",
                                                    "minimum_detectable_effect": "2",
                                                    "weights": "1,1"})
    assert free.status_code == 200 and free.json()["per_group"] == 3841
    assert free.json()["total_needed"] == 7682
    bad = api.get("/sales/experiments/plan", data={"baseline_rate": "x"})
    assert bad.status_code == 422
    assert bad["Content-Type"].startswith("application/problem+json")
    assert api.get("/sales/experiments/plan", data={"holdout_percent": "80"}).status_code == 422


def test_campaign_form_shows_the_plan_for_its_own_fields(member_client, owner_client, org):
    form = owner_client.get("/sales/campaigns/new/").content.decode()
    assert 'hx-get="/sales/campaigns/plan/"' in form and 'hx-include="#campaign-form"' in form
    # What the form sends: its variant blocks (a third, empty block does not count).
    partial = member_client.get("/sales/campaigns/plan/", {
        "baseline_rate": "10", "minimum_detectable_effect": "2", "holdout_percent": "0",
        "variant_0_name": "A", "variant_0_weight": "1",
        "variant_1_name": "B", "variant_1_weight": "3",
        "variant_2_name": "", "variant_2_weight": "1"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    # 3,841 per group; the smaller group gets a quarter of the recipients: 15,364 in all.
    assert "3,841" in body and "15,364" in body
