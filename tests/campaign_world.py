"""A small world for campaign tests: accounts (one linked to a hub buyer), contacts with and
without consent, a static segment holding them, and a two-variant draft campaign."""

from jalin.crm.models import Account, Contact
from jalin.sales import campaigns
from jalin.sales.models import Segment, SegmentKind, SegmentMember
from jalin.tenancy.models import Membership, Role
from tests.conftest import make_org, make_user

BODY_A = "Halo {first_name},\n\nDiskon 10% minggu ini: https://shop.example/promo?x=1.\nSalam"
BODY_B = "Hai {first_name}! Lihat katalog baru kami https://shop.example/katalog"


def make_contact(org, *, last_name, email="", opt_in=True, account=None, first_name=""):
    return Contact.objects.create(organization=org, first_name=first_name, last_name=last_name,
                                  email=email, email_opt_in=opt_in, account=account)


def make_segment(org, contacts, *, name="Pelanggan"):
    segment = Segment.objects.create(organization=org, name=name, kind=SegmentKind.STATIC,
                                     member_count=len(contacts))
    SegmentMember.objects.bulk_create([
        SegmentMember(segment=segment, contact=contact, account=contact.account)
        for contact in contacts])
    return segment


def make_buyer(slug="toko-bangunan", username="lina"):
    buyer = make_org(slug, is_buyer=True, is_supplier=False)
    user = make_user(username)
    Membership.objects.create(user=user, organization=buyer, role=Role.BUYER)
    return buyer, user


def make_campaign(org, owner, segment, *, channel="email", holdout_percent=0, variants=None,
                  name="Promo Desember"):
    return campaigns.campaign_create(
        organization=org, actor=owner, name=name, channel=channel, segment=segment,
        holdout_percent=holdout_percent,
        variants=variants or [
            {"name": "A", "weight": 1, "subject": "Diskon untuk {first_name}", "body": BODY_A},
            {"name": "B", "weight": 1, "subject": "Katalog baru", "body": BODY_B},
        ])


def small_world(org, owner):
    """Returns (segment, contacts dict). Contacts: ani (consent), budi (consent, account
    linked to a buyer), citra (no consent), dodi (no email), eka (suppressed)."""
    account = Account.objects.create(organization=org, name="PT Maju")
    contacts = {
        "ani": make_contact(org, first_name="Ani", last_name="Wijaya", email="ani@maju.example",
                            account=account),
        "budi": make_contact(org, first_name="Budi", last_name="Santoso",
                             email="budi@maju.example", account=account),
        "citra": make_contact(org, first_name="Citra", last_name="Lestari",
                              email="citra@maju.example", opt_in=False, account=account),
        "dodi": make_contact(org, first_name="Dodi", last_name="Pratama", account=account),
        "eka": make_contact(org, first_name="Eka", last_name="Putri", email="eka@maju.example",
                            account=account),
    }
    from jalin.sales.models import EmailSuppression

    EmailSuppression.objects.create(organization=org, email="eka@maju.example", reason="bounced")
    return make_segment(org, list(contacts.values())), contacts
