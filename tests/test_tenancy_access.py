import pytest
from django.db import models
from django.http import Http404

from jalin.core.models import AuditLog
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.checks import check_tenant_owners
from jalin.tenancy.models import Membership


def test_for_org_returns_only_own_rows(org, other_org, owner, outsider):
    assert list(for_org(Membership, org).values_list("user__username", flat=True)) == ["owner"]
    assert list(for_org(Membership, other_org).values_list("user__username", flat=True)) == [
        "outsider"
    ]
    assert not for_org(Membership, None).exists()


def test_get_for_org_or_404_hides_foreign_and_missing_alike(org, other_org, owner, outsider):
    mine = Membership.objects.get(user=owner)
    foreign = Membership.objects.get(user=outsider)
    assert get_for_org_or_404(Membership, org, pk=mine.pk) == mine
    for pk in (foreign.pk, 999_999, "not-a-number"):
        with pytest.raises(Http404):
            get_for_org_or_404(Membership, org, pk=pk)


def test_system_check_passes_for_jalin_models():
    assert check_tenant_owners() == []


def test_system_check_fails_for_model_without_owner(monkeypatch):
    # Pretend AuditLog forgot its owner declaration: the check must name it.
    monkeypatch.delattr(AuditLog, "tenant_owner")
    errors = check_tenant_owners()
    assert [e.id for e in errors] == ["jalin.E001"]
    assert "core.AuditLog" in errors[0].msg


def test_system_check_fails_for_owner_path_not_reaching_organization(monkeypatch):
    monkeypatch.setattr(AuditLog, "tenant_owner", "actor")
    errors = check_tenant_owners()
    assert [e.id for e in errors] == ["jalin.E002"]


def test_audit_log_is_append_only(org, owner):
    from jalin.core.audit import audit_record

    entry = audit_record(actor=owner, organization=org, action="test.done")
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        AuditLog.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(TypeError):
        AuditLog.objects.all().delete()
    assert isinstance(AuditLog._meta.get_field("before"), models.JSONField)
