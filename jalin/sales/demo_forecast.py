"""Demo data for forecasts: Sinar's order history on the hub (so the revenue and demand
forecasts have two and a half years to learn from) and this quarter's sales targets for sari,
budi and the whole of Sinar. Idempotent: a second run adds nothing."""

from django.utils import timezone

from jalin.hub.demo_history import seed_order_history

from . import forecast_selectors as fs
from . import targets
from .models import SalesTarget

# Username → target of the current quarter (IDR); None: the organization's own target.
TARGETS = (("sari", 450_000_000), ("budi", 300_000_000), (None, 1_200_000_000))


def seed_forecast(*, supplier, users, today=None):
    """Returns {"orders": history orders created, "targets": targets created}."""
    today = today or timezone.localdate()
    created = {"orders": seed_order_history(supplier=supplier, today=today), "targets": 0}
    quarter = fs.periods(fs.QUARTER, today, 1)[0]
    for username, amount in TARGETS:
        user = users.get(username) if username else None
        if username and user is None:
            continue
        if SalesTarget.objects.filter(organization=supplier, user=user, team=None,
                                      period_start=quarter.start,
                                      period_end=quarter.end).exists():
            continue
        targets.target_create(organization=supplier, actor=users.get("budi"), user=user,
                              period_start=quarter.start, period_end=quarter.end,
                              amount=amount)
        created["targets"] += 1
    return created
