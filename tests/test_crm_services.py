"""CRM services and custom field rules: validation, cross-organization references,
optimistic concurrency, audit and events."""

import pytest
from django.core.exceptions import ValidationError

from jalin.core.events import events_process
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.crm import services
from jalin.crm.custom_fields import clean_custom_values, clean_value
from jalin.crm.models import Account, Contact, CustomFieldDefinition, Tag
from jalin.hub.services import relationship_create
from jalin.tenancy.services import StaleVersion


@pytest.fixture
def account(org, owner):
    return services.account_create(organization=org, actor=owner, name="PT Maju Jaya",
                                   status="customer", tags=["retail", "jakarta"])


def define(org, owner, key, type, **extra):
    return services.custom_field_define(organization=org, actor=owner, target="account",
                                        key=key, label=key.title(), type=type, **extra)


def test_account_create_writes_audit_and_event(org, owner, account):
    assert account.version == 1
    assert sorted(t.name for t in account.tags.all()) == ["jakarta", "retail"]
    assert AuditLog.objects.filter(organization=org, action="crm.account.created",
                                   object_id=str(account.pk)).exists()
    event = Event.objects.get(type="crm.account.created", aggregate_id=str(account.pk))
    assert event.organization == org and "name" in event.payload["changed"]


def test_account_update_bumps_version_and_names_changed_fields(org, owner, account):
    updated = services.account_update(account=account, actor=owner, version=1, tier="key",
                                      tags=["retail"])
    assert updated.version == 2 and updated.tier == "key"
    event = Event.objects.get(type="crm.account.updated")
    assert event.payload["changed"] == ["tags", "tier"]
    with pytest.raises(StaleVersion):
        services.account_update(account=account, actor=owner, version=1, name="Old view")
    assert Account.objects.get(pk=account.pk).name == "PT Maju Jaya"


def test_owner_must_be_member_of_the_organization(org, owner, outsider, member):
    with pytest.raises(services.CrmError) as error:
        services.account_create(organization=org, actor=owner, name="X", owner=outsider)
    assert error.value.field == "owner_id"
    account = services.account_create(organization=org, actor=owner, name="X", owner=member)
    assert account.owner == member
    assert Account.objects.count() == 1


def test_cross_org_parent_and_account_are_refused(org, other_org, owner, outsider):
    foreign = services.account_create(organization=other_org, actor=outsider, name="Theirs")
    with pytest.raises(services.CrmError) as error:
        services.account_create(organization=org, actor=owner, name="Mine", parent=foreign.pk)
    assert error.value.field == "parent_id"
    with pytest.raises(services.CrmError) as error:
        services.contact_create(organization=org, actor=owner, last_name="Budi",
                                account=foreign)
    assert error.value.field == "account_id"
    assert Account.objects.filter(organization=org).count() == 0
    assert Contact.objects.count() == 0


def test_parent_cycles_are_refused(org, owner):
    top = services.account_create(organization=org, actor=owner, name="Holding")
    middle = services.account_create(organization=org, actor=owner, name="Division",
                                     parent=top)
    with pytest.raises(services.CrmError) as error:
        services.account_update(account=top, actor=owner, version=1, parent=middle)
    assert error.value.code == "parent_cycle"
    with pytest.raises(services.CrmError):
        services.account_update(account=top, actor=owner, version=1, parent=top)


def test_hub_organization_must_be_a_trading_buyer(org, other_org, owner):
    with pytest.raises(services.CrmError) as error:
        services.account_create(organization=org, actor=owner, name="Stranger",
                                hub_organization=other_org)
    assert error.value.field == "hub_organization_id"
    relationship_create(supplier=org, buyer=other_org, actor=owner)
    events_process()  # the CRM learns of the buyer from the hub's event
    account = services.account_create(organization=org, actor=owner, name="Buyer link",
                                      hub_organization=other_org)  # other_org is a buyer
    assert account.hub_organization == other_org
    with pytest.raises(services.CrmError):
        services.account_create(organization=org, actor=owner, name="Self",
                                hub_organization=org)


def test_contact_phone_and_email_are_normalized(org, owner, account):
    contact = services.contact_create(
        organization=org, actor=owner, first_name=" Siti ", last_name="Rahma",
        email="Siti@Example.CO.ID", phone="0812-3456-7890", extra_phones=["+1 650 253 0000"],
        account=account, relationship_role="decision_maker", email_opt_in=True)
    assert contact.first_name == "Siti"
    assert contact.email == "siti@example.co.id"
    assert contact.phone == "+6281234567890"
    assert contact.extra_phones == ["+16502530000"]
    assert contact.email_opt_in_at is not None and contact.phone_opt_in_at is None


@pytest.mark.parametrize("field,value", [
    ("phone", "12"), ("email", "not-an-email"), ("relationship_role", "boss"),
    ("extra_emails", ["ok@example.com", "broken"]),
])
def test_contact_bad_input_is_a_field_error(org, owner, field, value):
    with pytest.raises(ValidationError) as error:
        services.contact_create(organization=org, actor=owner, last_name="X", **{field: value})
    assert field in error.value.error_dict
    assert Contact.objects.count() == 0


def test_consent_timestamp_moves_when_consent_changes(org, owner):
    contact = services.contact_create(organization=org, actor=owner, last_name="A")
    assert contact.email_opt_in_at is None
    contact = services.contact_update(contact=contact, actor=owner, version=1,
                                      email_opt_in=True)
    assert contact.email_opt_in and contact.email_opt_in_at is not None


def test_archive_removes_from_updates(org, owner, account):
    services.account_archive(account=account, actor=owner)
    assert Account.objects.get(pk=account.pk).archived_at is not None
    with pytest.raises(StaleVersion):
        services.account_update(account=account, actor=owner, version=2, name="Back")


# --- Custom fields -----------------------------------------------------------------------


@pytest.mark.parametrize("type,good,stored,bad", [
    ("text", " hello ", "hello", 5),
    ("number", "12,5", 12.5, "twelve"),
    ("number", 7, 7, True),
    ("date", "2026-02-28", "2026-02-28", "2026-02-30"),
    ("boolean", "on", True, "maybe"),
    ("url", "https://example.com/x", "https://example.com/x", "javascript:alert(1)"),
    ("choice", "gold", "gold", "platinum"),
    ("multi_choice", ["silver", "gold"], ["gold", "silver"], ["gold", "tin"]),
])
def test_custom_value_rules_per_type(type, good, stored, bad):
    definition = CustomFieldDefinition(key="f", label="F", type=type,
                                       choices=["gold", "silver"])
    assert clean_value(definition, good) == stored
    with pytest.raises(ValidationError):
        clean_value(definition, bad)


def test_custom_values_required_unknown_and_partial():
    required = CustomFieldDefinition(key="segment", label="Segment", type="text",
                                     required=True)
    optional = CustomFieldDefinition(key="score", label="Score", type="number")
    with pytest.raises(ValidationError) as error:
        clean_custom_values(definitions=[required, optional], values={"nope": 1})
    assert set(error.value.error_dict) == {"custom.segment", "custom.nope"}
    cleaned = clean_custom_values(definitions=[required, optional],
                                  values={"score": "3"},
                                  existing={"segment": "smb", "retired": "kept"}, partial=True)
    assert cleaned == {"segment": "smb", "score": 3, "retired": "kept"}


def test_account_custom_fields_are_validated_by_the_service(org, owner):
    define(org, owner, "segment", "choice", choices=["smb", "enterprise"], required=True)
    with pytest.raises(ValidationError) as error:
        services.account_create(organization=org, actor=owner, name="A",
                                custom={"segment": "huge"})
    assert "custom.segment" in error.value.error_dict
    account = services.account_create(organization=org, actor=owner, name="A",
                                      custom={"segment": "smb"})
    assert account.custom == {"segment": "smb"}
    assert not Tag.objects.exists()


def test_custom_field_definition_rules(org, owner, other_org, outsider):
    define(org, owner, "segment", "text")
    with pytest.raises(services.CrmError) as error:
        define(org, owner, "segment", "text")
    assert error.value.code == "duplicate_key"
    define(other_org, outsider, "segment", "text")  # keys are per organization
    with pytest.raises(services.CrmError):
        define(org, owner, "Bad Key", "text")
    with pytest.raises(ValidationError):
        define(org, owner, "level", "choice", choices=[])
    definition = CustomFieldDefinition.objects.get(organization=org, key="segment")
    with pytest.raises(services.CrmError):
        services.custom_field_update(definition=definition, actor=owner, type="number")
    updated = services.custom_field_update(definition=definition, actor=owner, version=1,
                                           active=False)
    assert not updated.active and updated.version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_updates_with_one_version_let_exactly_one_win(org, owner):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks decide the race")
    account = services.account_create(organization=org, actor=owner, name="Race")
    barrier = threading.Barrier(2)
    outcomes = []

    def edit(name):
        try:
            barrier.wait()
            services.account_update(account=account, actor=owner, version=1, name=name)
            outcomes.append("saved")
        except StaleVersion:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=edit, args=(f"Writer {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["saved", "stale"]
    assert Account.objects.get(pk=account.pk).version == 2
