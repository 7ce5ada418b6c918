"""Demo SLA setup for the demo supplier (called by `jalin demo`; idempotent): the default
calendar with Indonesian public holidays and the default policy, a stricter "Gold" policy,
and two escalation rules (tell the admin on a warning, raise the priority on a breach)."""

from .calendars import DEFAULT_TARGETS, ensure_default_policy, policy_create, rule_create
from .models import EscalationRule, SlaMetric, SlaPolicy


def seed_sla(*, supplier, admin):
    """Returns how many records were created (0 on a rerun)."""
    created = 0
    if not SlaPolicy.objects.filter(organization=supplier).exists():
        created += 1
    default = ensure_default_policy(organization=supplier)
    if default is None:
        return created
    if not SlaPolicy.objects.filter(organization=supplier, name="Gold").exists():
        targets = {}
        for priority, (first, resolution) in DEFAULT_TARGETS.items():
            targets[(priority, SlaMetric.FIRST_RESPONSE)] = max(first // 2, 15)
            targets[(priority, SlaMetric.RESOLUTION)] = max(resolution // 2, 60)
        policy_create(organization=supplier, actor=admin, name="Gold",
                      calendar=default.calendar, targets=targets, warn_at_percent=75,
                      required_attainment_percent="98")
        created += 1
    rules = (
        {"name": "Tell the admin before a breach", "trigger": "warning",
         "action": "notify_user", "user": admin.pk},
        {"name": "Raise priority on a breached response", "trigger": "breach",
         "metric": SlaMetric.FIRST_RESPONSE, "action": "raise_priority"},
    )
    for rule in rules:
        if not EscalationRule.objects.filter(organization=supplier, name=rule["name"]).exists():
            rule_create(organization=supplier, actor=admin, **rule)
            created += 1
    return created
