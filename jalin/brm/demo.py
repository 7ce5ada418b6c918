"""Demo data for the service, agreement and customer portfolios (called by `jalin demo`).

Everything goes through the services and is created only when missing, so a second run
changes nothing."""

import datetime

from django.utils import timezone

from jalin.crm.models import Account, Contact
from jalin.service import agreements, service_catalogue
from jalin.service.models import Agreement, Service
from jalin.tenancy.models import Membership

from . import customers
from .models import BusinessObjective, CustomerProfile, Stakeholder

SERVICES = (
    ("DLV", "Pengiriman terjadwal", "live", "operation",
     "Weekly scheduled delivery to the customer's sites.",
     "Delivery on the agreed day in 98% of weeks; tracked per shipment."),
    ("INST", "Pemasangan di lokasi", "design", "design",
     "Installation of fittings at the customer's site.", "Qualified installers, 2-year guarantee."),
    ("TRN", "Pelatihan produk", "draft", "strategy", "Product training for store staff.", ""),
    ("FAX", "Pemesanan lewat faks", "retired", "improvement", "Orders by fax.", ""),
)
PATH = ("under_evaluation", "approved", "design", "live", "pending_retirement", "retired")


def _walk_to(service, target, actor):
    for status in PATH:
        if service.status == target:
            break
        if status in service_catalogue.allowed_targets(service):
            service = service_catalogue.service_transition(service=service, to_status=status,
                                                           actor=actor)
    return service


def seed_portfolios(*, organizations, users):
    """Returns how many records were created."""
    supplier = organizations.get("sinar-distribusi")
    budi, sari, bambang = users.get("budi"), users.get("sari"), users.get("bambang")
    if supplier is None or budi is None:
        return 0
    created = 0
    services = {}
    for code, name, status, stage, utility, warranty in SERVICES:
        service = Service.objects.filter(organization=supplier, code=code).first()
        if service is None:
            service = service_catalogue.service_create(
                organization=supplier, actor=budi, code=code, name=name, stage=stage,
                utility=utility, warranty=warranty, owner=budi)
            service = _walk_to(service, status, budi)
            created += 1
        services[code] = service
    account = Account.objects.filter(organization=supplier,
                                     name="PT Toko Bangunan Sejahtera").first()
    if account is None:
        return created
    delivery = services["DLV"]
    if delivery.status == "live" and not delivery.subscriptions.filter(account=account).exists():
        service_catalogue.subscription_add(service=delivery, account=account, actor=budi)
        created += 1
    today = timezone.localdate()
    if not Agreement.objects.filter(organization=supplier, account=account).exists():
        agreement = agreements.agreement_create(
            organization=supplier, actor=budi, kind="sla", title="SLA Pengiriman Gold",
            account=account, services=[delivery], required_attainment_percent="95",
            availability_percent="99.5", maintenance_window="Minggu 00:00–04:00",
            starts_on=today - datetime.timedelta(days=300),
            ends_on=today + datetime.timedelta(days=65),
            review_on=today + datetime.timedelta(days=20), renewal_notice_days=90,
            owner=sari or budi)
        agreement = agreements.agreement_transition(agreement=agreement,
                                                    to_status="pending_signature", actor=budi)
        provider = Membership.objects.filter(user=budi, organization=supplier).first()
        agreements.agreement_sign(agreement=agreement, membership=provider, actor=budi,
                                  party="provider", decision="signed")
        approver = Membership.objects.filter(user=bambang,
                                             organization_id=account.hub_organization_id
                                             ).first() if bambang else None
        if approver is not None:
            agreements.agreement_sign(agreement=agreement, membership=approver, actor=bambang,
                                      party="customer", decision="signed")
        created += 1
    if not CustomerProfile.objects.filter(account=account).exists():
        customers.profile_update(
            account=account, actor=budi, relationship_manager=sari or budi,
            review_every_days=90, next_review_on=today + datetime.timedelta(days=20),
            business_summary="Building-materials retailer with four stores in West Jakarta.",
            activity_patterns="Peak before Lebaran and in the dry season (May–September); "
                              "closed on public holidays.",
            health="at_risk", health_note="Two late deliveries in the last quarter.")
        created += 1
    director = Contact.objects.filter(organization=supplier, account=account,
                                      last_name="Hidayat").first()
    if director is not None and not BusinessObjective.objects.filter(account=account).exists():
        customers.objective_create(
            account=account, actor=budi, title="Open two more stores in 2027",
            desired_outcome="Deliveries to new stores from their first week",
            measure="Stores supplied on schedule", status="agreed",
            agreed_on=today - datetime.timedelta(days=30), agreed_by=director,
            target_date=today + datetime.timedelta(days=365))
        customers.objective_create(account=account, actor=budi,
                                   title="Cut out-of-stock days on cement by half")
        created += 2
    if director is not None and not Stakeholder.objects.filter(account=account).exists():
        portal_user = bambang if bambang and account.hub_organization_id and \
            bambang.memberships.filter(organization_id=account.hub_organization_id).exists() \
            else None
        customers.stakeholder_create(account=account, actor=budi, contact=director,
                                     role="decision_maker", influence=5,
                                     portal_user=portal_user)
        buyer_contact = Contact.objects.filter(organization=supplier, account=account,
                                               last_name="Marlina").first()
        if buyer_contact is not None:
            customers.stakeholder_create(account=account, actor=budi, contact=buyer_contact,
                                         role="service_user", influence=2)
        created += 1
    return created
