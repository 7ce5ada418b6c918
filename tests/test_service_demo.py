"""The demo service desk: cases for the buyer through the services, idempotent on rerun."""

from jalin.core.events_models import Event
from jalin.service.demo import CASES, seed_service_desk
from jalin.service.models import CannedReply, Case, CaseMessage, Team
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.service_world import build_world


def test_seed_is_idempotent(org, owner):
    world = build_world(org, owner)
    users = {"budi": owner, "lina": world.buyer_user}
    assert seed_service_desk(supplier=org, buyer=world.toko, users=users) == len(CASES)
    counts = (Case.objects.count(), CaseMessage.objects.count(), Event.objects.count(),
              Team.objects.count(), CannedReply.objects.count())
    assert seed_service_desk(supplier=org, buyer=world.toko, users=users) == 0
    assert counts == (Case.objects.count(), CaseMessage.objects.count(),
                      Event.objects.count(), Team.objects.count(),
                      CannedReply.objects.count())
    statuses = dict(Case.objects.values_list("subject", "status"))
    assert statuses == {"Keramik pecah saat diterima": "open",
                        "Jadwal pengiriman minggu depan": "resolved",
                        "Faktur tidak bisa diunduh": "waiting",
                        "Pengiriman cepat, terima kasih": "closed"}
    assert set(Case.objects.values_list("buyer_id", flat=True)) == {world.toko.pk}
    reply = CaseMessage.objects.filter(visibility="public").first()
    assert "{{" not in reply.body and "Lina" in reply.body
    assert Membership.objects.get(user=owner, organization=org).role == Role.ORG_ADMIN
