import pytest
from django.db import transaction

from jalin.accounts.models import User
from jalin.core.consumers import register_consumer, unregister_consumer
from jalin.core.events import emit_event, events_process
from jalin.core.events_models import DeadLetter


@pytest.fixture
def superuser_client(client, db):
    admin = User.objects.create_superuser("root", "root@example.test", "x-Pass-12345!")
    client.force_login(admin)
    return client


def test_operator_replays_a_dead_letter_from_the_admin(superuser_client, org, settings):
    settings.JALIN_EVENT_MAX_ATTEMPTS = 1
    seen = []
    state = {"broken": True}

    def handler(event):
        if state["broken"]:
            raise RuntimeError("boom")
        seen.append(event.pk)

    register_consumer("test.admin_replay", handler)
    try:
        with transaction.atomic():
            event = emit_event(type="test.happened", organization=org)
        events_process()
        letter = DeadLetter.objects.get(consumer="test.admin_replay")
        listing = superuser_client.get("/admin/core/deadletter/")
        assert listing.status_code == 200
        assert "test.admin_replay" in listing.content.decode()

        state["broken"] = False
        response = superuser_client.post(
            "/admin/core/deadletter/",
            {"action": "replay", "_selected_action": [letter.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert "1 replayed." in response.content.decode()
    finally:
        unregister_consumer("test.admin_replay")
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert seen == [event.pk]


def test_audit_log_and_events_are_read_only_in_the_admin(superuser_client, org, owner):
    from jalin.core.audit import audit_record

    entry = audit_record(actor=owner, organization=org, action="test.done")
    assert superuser_client.get("/admin/core/auditlog/").status_code == 200
    change = superuser_client.post(f"/admin/core/auditlog/{entry.pk}/change/", {"action": "x"})
    assert change.status_code in (403, 200)
    entry.refresh_from_db()
    assert entry.action == "test.done"
    assert superuser_client.get("/admin/core/auditlog/add/").status_code == 403
    assert superuser_client.post(f"/admin/core/auditlog/{entry.pk}/delete/").status_code == 403
