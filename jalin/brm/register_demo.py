"""Demo records of the BRM registers, made through the register services. Idempotent: each
record is looked up by its title first, so a second `jalin demo` changes nothing."""

from jalin.crm.models import Account
from jalin.service.models import Service

from . import registers, requirements
from .models import CustomerChange, Improvement, OpportunityRecord, Requirement

SUPPLIER, ADMIN, BUYER = "sinar-distribusi", "budi", "toko-bangunan-sejahtera"
REQUIREMENT_TITLE = "Pengiriman akhir pekan untuk proyek"


def seed_brm_registers(*, organizations, users):
    """A requirement awaiting the buyer's sign-off (bambang, buyer approver, signs by the
    fallback rule while no decision maker is linked), a change, an opportunity and an
    improvement for Sinar's customer Toko Bangunan. Returns how many records it made."""
    supplier, actor = organizations.get(SUPPLIER), users.get(ADMIN)
    buyer = organizations.get(BUYER)
    if supplier is None or actor is None or buyer is None:
        return 0
    account = (Account.objects.filter(organization=supplier, hub_organization=buyer)
               .order_by("id").first())
    if account is None:
        return 0
    service = Service.objects.filter(organization=supplier).order_by("id").first()
    made = 0
    if not Requirement.objects.filter(organization=supplier, title=REQUIREMENT_TITLE).exists():
        requirement = requirements.requirement_create(
            organization=supplier, account=account, title=REQUIREMENT_TITLE, actor=actor,
            service=service,
            description="Toko Bangunan wants deliveries on Saturdays for building sites.",
            costs="12000000", benefits="30000000",
            cost_notes="Second driver shift on Saturdays (4 × Rp 3.000.000 a month).",
            benefit_notes="Site orders no longer wait for Monday; larger weekend orders.",
            risks="Driver availability during Ramadan and holidays.")
        for action in ("submit", "screen", "qualify"):
            requirement = requirements.requirement_transition(
                requirement=requirement, action=action, actor=actor,
                version=requirement.version)
        made += 1
    title = "Gudang baru di Bekasi"
    if not CustomerChange.objects.filter(organization=supplier, title=title).exists():
        registers.change_create(
            organization=supplier, actor=actor, account=account, origin="ours", title=title,
            impact_level="medium", impact="Deliveries to East Jakarta one day faster.",
            response="Told the customer at the quarterly review; routes updated.")
        made += 1
    title = "Lacak pengiriman lewat WhatsApp"
    if not OpportunityRecord.objects.filter(organization=supplier, title=title).exists():
        registers.opportunity_create(organization=supplier, actor=actor, title=title,
                                     kind="technology", account=account,
                                     description="Delivery status messages by WhatsApp.",
                                     estimated_value="15000000")
        made += 1
    title = "Faktur lebih jelas per proyek"
    if not Improvement.objects.filter(organization=supplier, title=title).exists():
        registers.improvement_create(organization=supplier, actor=actor, title=title,
                                     source="feedback", account=account,
                                     expected_benefit="Fewer invoice questions to the desk.")
        made += 1
    return made
