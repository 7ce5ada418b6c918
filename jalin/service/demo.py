"""Demo service desk for `jalin demo`: a team, canned replies and a handful of cases that
PT Toko Bangunan Sejahtera opened with PT Sinar Distribusi Nusantara, all made through the
services (so they have history, audit rows and events like real ones). Idempotent: a case is
looked up by its subject first, so a rerun adds nothing."""

from datetime import timedelta

from django.utils import timezone

from jalin.tenancy.models import Membership

from . import case_selectors, cases, desk
from .models import CannedReply, Case, Team

TEAM = "Layanan pelanggan"
CANNED = (
    ("Terima kasih, sedang kami cek",
     "Halo {{ contact.first_name }},\n\nTerima kasih atas laporannya. Kasus "
     "#{{ case.number }} sedang kami periksa dan akan kami kabari secepatnya.\n\n"
     "Salam,\n{{ agent.name }}\n{{ organization.name }}"),
    ("Mohon foto barang",
     "Halo {{ contact.first_name }},\n\nBoleh kirimkan foto barang dan label "
     "pengirimannya? Dengan itu penggantian bisa kami proses hari ini juga."),
)
# (subject, kind, priority, channel, description, days ago, steps)
CASES = (
    ("Keramik pecah saat diterima", "complaint", "high", "portal",
     "Dari 40 dus keramik 60x60, 6 dus pecah saat diterima di gudang kami.", 3,
     ("reply", "open")),
    ("Jadwal pengiriman minggu depan", "question", "normal", "email",
     "Apakah pengiriman semen minggu depan tetap hari Selasa?", 6,
     ("reply", "resolve")),
    ("Faktur tidak bisa diunduh", "incident", "normal", "portal",
     "Tombol unduh PDF faktur bulan ini tidak merespons.", 1,
     ("note", "reply", "wait")),
    ("Pengiriman cepat, terima kasih", "compliment", "low", "portal",
     "Pesanan kemarin sampai dalam sehari. Terima kasih tim gudang!", 10,
     ("reply", "resolve", "close")),
)


def _agent(supplier, users, username):
    user = users.get(username)
    if user and Membership.objects.filter(user=user, organization=supplier,
                                          is_active=True).exists():
        return user
    return None


def seed_service_desk(*, supplier, buyer, users, admin="budi", customer="lina"):
    """Returns how many cases were created."""
    agent = _agent(supplier, users, admin)
    requester = users.get(customer)
    if not Team.objects.filter(organization=supplier, name=TEAM).exists():
        desk.team_create(organization=supplier, actor=agent, name=TEAM,
                         members=[agent] if agent else [])
    team = Team.objects.get(organization=supplier, name=TEAM)
    for title, body in CANNED:
        if not CannedReply.objects.filter(organization=supplier, title=title).exists():
            desk.canned_reply_create(organization=supplier, actor=agent, title=title, body=body)
    account = case_selectors.account_for_buyer(organization=supplier, buyer=buyer)
    contact = account.contacts.order_by("id").first() if account else None
    greeting = CannedReply.objects.get(organization=supplier, title=CANNED[0][0])
    created = 0
    now = timezone.now()
    for subject, kind, priority, channel, description, days, steps in CASES:
        if Case.objects.filter(organization=supplier, subject=subject).exists():
            continue
        opened = now - timedelta(days=days)
        case = cases.case_open(
            organization=supplier, subject=subject, kind=kind, channel=channel,
            description=description, priority=priority, actor=requester, account=account,
            contact=contact, requester=requester, buyer=None if account else buyer,
            team=team, assignee=agent, now=opened)
        moment = opened
        for step in steps:
            moment += timedelta(hours=2)
            if step == "reply":
                cases.case_add_message(
                    case=case, body=desk.render_canned(greeting.body, case=case, agent=agent),
                    from_staff=True, channel="staff", author=agent, now=moment)
            elif step == "note":
                cases.case_add_message(
                    case=case, body="Tim IT sudah diberi tahu; kemungkinan masalah cache.",
                    from_staff=True, channel="staff", visibility="internal", author=agent,
                    now=moment)
            elif step == "open" and case.status == "new":
                cases.case_set_status(case=case, status="open", actor=agent, now=moment)
            elif step == "wait":
                cases.case_set_status(case=case, status="waiting", actor=agent,
                                      note="Menunggu tangkapan layar dari pelanggan.",
                                      now=moment)
            elif step == "resolve":
                cases.case_set_status(case=case, status="resolved", actor=agent, now=moment)
            elif step == "close":
                cases.case_set_status(case=case, status="closed", actor=agent, now=moment)
        created += 1
    return created
