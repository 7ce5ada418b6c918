"""Outsider walk and API-docs routes for service reviews, BRM metrics and referrals."""

from . import OWN, REFUSE, Route

ROUTES = {
    "brm/reviews/": Route(OWN, methods=("GET",)),
    "brm/reviews/new/": Route(OWN, methods=("GET",)),
    "brm/reviews/<int:pk>/": Route(REFUSE, kwargs={"pk": "brm_review"}, methods=("GET",)),
    "brm/reviews/<int:pk>/hold/": Route(REFUSE, kwargs={"pk": "brm_review"},
                                        methods=("POST",)),
    "brm/reviews/<int:pk>/cancel/": Route(REFUSE, kwargs={"pk": "brm_review"},
                                          methods=("POST",)),
    "brm/reviews/<int:pk>/pdf/": Route(REFUSE, kwargs={"pk": "brm_review"}, methods=("GET",)),
    "brm/portal/reviews/": Route(OWN, methods=("GET",)),
    "brm/portal/reviews/<int:pk>/": Route(REFUSE, kwargs={"pk": "brm_review"},
                                          methods=("GET",)),
    "brm/portal/reviews/<int:pk>/pdf/": Route(REFUSE, kwargs={"pk": "brm_review"},
                                              methods=("GET",)),
    "brm/metrics/": Route(OWN, methods=("GET",)),
    "brm/metrics/export.csv": Route(OWN, methods=("GET",)),
    "brm/referrals/": Route(OWN, methods=("GET",)),
    "api/v1/brm/reviews": Route(OWN, methods=("GET",)),
    "api/v1/brm/reviews/<review_id>": Route(REFUSE, kwargs={"review_id": "brm_review"},
                                            methods=("GET",)),
    "api/v1/brm/reviews/<review_id>/hold": Route(
        REFUSE, kwargs={"review_id": "brm_review"}, methods=("POST",), body={"version": 1}),
    "api/v1/brm/reviews/<review_id>/cancel": Route(
        REFUSE, kwargs={"review_id": "brm_review"}, methods=("POST",), body={"version": 1}),
    "api/v1/brm/portal/reviews": Route(OWN, methods=("GET",)),
    "api/v1/brm/portal/reviews/<review_id>": Route(
        REFUSE, kwargs={"review_id": "brm_review"}, methods=("GET",)),
    "api/v1/brm/metrics": Route(OWN, methods=("GET",)),
    "api/v1/brm/referrals": Route(OWN, methods=("GET",)),
}

API_ROUTES = {
    "/api/v1/brm/reviews": {"get", "post"},
    "/api/v1/brm/reviews/{review_id}": {"get"},
    "/api/v1/brm/reviews/{review_id}/hold": {"post"},
    "/api/v1/brm/reviews/{review_id}/cancel": {"post"},
    "/api/v1/brm/portal/reviews": {"get"},
    "/api/v1/brm/portal/reviews/{review_id}": {"get"},
    "/api/v1/brm/metrics": {"get"},
    "/api/v1/brm/referrals": {"get", "post"},
}


def victim_records(*, org, owner, records):
    """A held service review of the victim's customer (with a buyer on the hub), a referral
    and enough service data that a leaking metrics page shows the marker."""
    import datetime

    from jalin.brm import referrals, reviews
    from jalin.brm.models import CustomerProfile
    from jalin.tenancy.models import Organization

    account = records["crm_account"]
    buyer = Organization.objects.create(name="Victim Supply Secret Review Buyer",
                                        slug="victim-review-buyer", is_buyer=True)
    account.hub_organization = buyer
    account.save(update_fields=["hub_organization"])
    CustomerProfile.objects.get_or_create(organization=org, account=account)
    review = reviews.review_create(organization=org, account=account, actor=owner,
                                   scheduled_for=datetime.date(2026, 12, 1))
    reviews.review_hold(review=review, actor=owner, minutes="Victim Supply Secret minutes")
    referrals.referral_create(organization=org, actor=owner, referrer_id=account.pk,
                              referred_name="Victim Supply Secret Referred")
    return {"brm_review": review}
