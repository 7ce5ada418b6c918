"""Translated labels for a report's codes (the frozen JSON keeps codes, so a held report
reads in whatever language its reader uses)."""

import copy

from django.utils.translation import gettext as _

from jalin.service.models import AgreementKind, CaseKind, CasePriority, SlaMetric

from .models import ImprovementSource, ImprovementStatus, RequirementStatus


def _label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def labelled(report):
    """A copy of `report` with `*_label` fields next to the codes."""
    report = copy.deepcopy(report)
    for row in report.get("sla", {}).get("rows", []):
        row["metric_label"] = _label(SlaMetric, row.get("metric"))
        row["priority_label"] = _label(CasePriority, row.get("priority"))
    for row in report.get("sla", {}).get("results", []):
        row["metric_label"] = _label(SlaMetric, row.get("metric"))
        row["priority_label"] = _label(CasePriority, row.get("priority"))
    for row in report.get("cases", {}).get("by_kind", []):
        row["kind_label"] = _label(CaseKind, row.get("kind"))
    for row in report.get("improvements", []):
        row["status_label"] = _label(ImprovementStatus, row.get("status"))
        row["source_label"] = _label(ImprovementSource, row.get("source"))
    for row in report.get("agreements_due", []):
        row["kind_label"] = _label(AgreementKind, row.get("kind"))
        row["due_label"] = _("Renewal") if row.get("due") == "renewal" else _("Review")
    for row in report.get("requirements_awaiting", []):
        row["status_label"] = _label(RequirementStatus, row.get("status"))
    return report
