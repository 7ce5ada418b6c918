"""The customer-portfolio panel of the CRM account page (and the account summary API),
registered into jalin.crm.panels from BrmConfig.ready(): the account's BRM profile
(relationship health, relationship manager, next review), its requirements still being worked
on, its open improvements and its service reviews (the next scheduled, the last held).

Bounded queries on the account's foreign-key indexes, each with a LIMIT.
"""

from django.urls import reverse

from jalin.tenancy.access import for_org

from .models import (
    CustomerProfile,
    Improvement,
    ImprovementStatus,
    Requirement,
    RequirementStatus,
    ReviewStatus,
    ServiceReview,
)

ROWS = 5
REQUIREMENTS_IN_PROGRESS = (RequirementStatus.DRAFT, RequirementStatus.SUBMITTED,
                            RequirementStatus.SCREENING, RequirementStatus.QUALIFIED)
IMPROVEMENTS_OPEN = (ImprovementStatus.NEW, ImprovementStatus.ACCEPTED,
                     ImprovementStatus.APPROVED, ImprovementStatus.IN_PROGRESS,
                     ImprovementStatus.MONITOR)


def _review(review):
    if review is None:
        return None
    return {"id": review.pk, "scheduled_for": review.scheduled_for, "status": review.status,
            "url": reverse("brm:review_detail", args=[review.pk])}


def account_portfolio(*, organization, record, user):
    profile = (for_org(CustomerProfile, organization).filter(account_id=record.pk)
               .select_related("relationship_manager").first())
    requirements = (for_org(Requirement, organization)
                    .filter(account_id=record.pk, status__in=REQUIREMENTS_IN_PROGRESS)
                    .order_by("-number")[:ROWS])
    improvements = (for_org(Improvement, organization)
                    .filter(account_id=record.pk, status__in=IMPROVEMENTS_OPEN)
                    .order_by("-id")[:ROWS])
    reviews = for_org(ServiceReview, organization).filter(account_id=record.pk)
    next_review = (reviews.filter(status=ReviewStatus.SCHEDULED)
                   .order_by("scheduled_for", "id").first())
    last_review = reviews.filter(status=ReviewStatus.HELD).order_by("-scheduled_for",
                                                                    "-id").first()
    return {
        "profile": None if profile is None else {
            "health": profile.health, "health_label": str(profile.get_health_display()),
            "health_note": profile.health_note,
            "relationship_manager": (profile.relationship_manager.get_username()
                                     if profile.relationship_manager else ""),
            "next_review_on": profile.next_review_on,
            "predicted_value": profile.predicted_value,
        },
        "requirements": [{"id": item.pk, "label": f"REQ-{item.number}", "title": item.title,
                          "status": item.status,
                          "status_label": str(item.get_status_display()),
                          "url": reverse("brm:requirement_detail", args=[item.pk])}
                         for item in requirements],
        "improvements": [{"id": item.pk, "title": item.title, "status": item.status,
                          "status_label": str(item.get_status_display()),
                          "url": reverse("brm:improvement_detail", args=[item.pk])}
                         for item in improvements],
        "next_review": _review(next_review),
        "last_review": _review(last_review),
        "customer_url": reverse("brm:customer", args=[record.pk]),
        "requirements_url": f"{reverse('brm:requirements')}?account={record.pk}",
        "improvements_url": f"{reverse('brm:improvements')}?account={record.pk}&status=open",
        "reviews_url": f"{reverse('brm:reviews')}?account={record.pk}",
    }


def register():
    from django.utils.translation import gettext_lazy as _

    from jalin.crm.panels import register_account_panel
    from jalin.tenancy.roles import BRM_VIEW

    register_account_panel("portfolio", title=_("Customer portfolio"), order=60,
                           selector=account_portfolio, template="brm/panels/_account.html",
                           permission=BRM_VIEW)
