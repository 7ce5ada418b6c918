"""The PDF of a sales quote (fpdf2 on the shared `jalin.core.pdf.DocumentPDF`): what a seller
sends a customer who is not on the hub, and a printable copy of any quote."""

from django.utils import formats
from django.utils.translation import gettext as _

from jalin.core.pdf import DocumentPDF, pdf_date, rate_text
from jalin.core.templatetags.jalin_ui import format_money


def _party_lines(organization):
    lines = [organization.legal_name or organization.name]
    if organization.address:
        lines.append(organization.address)
    place = " ".join(part for part in (organization.city, organization.country) if part)
    if place:
        lines.append(place)
    if organization.tax_id:
        lines.append(_("Tax ID (NPWP): %(tax_id)s") % {"tax_id": organization.tax_id})
    return lines


def quote_pdf(*, quote, lines):
    """The PDF (bytes) of `quote` (with `opportunity__account`, `organization`, `contact`)."""
    opportunity = quote.opportunity
    account = opportunity.account
    title = _("Quote %(number)s") % {"number": quote.label}
    pdf = DocumentPDF(title)
    currency = quote.currency
    pdf.heading(title)
    customer = [account.name]
    if opportunity.contact_id:
        customer.append(_("Attn. %(name)s") % {"name": str(opportunity.contact)})
    pdf.parties(_("From"), _party_lines(quote.organization), _("For"), customer)
    facts = [(_("Number"), quote.label), (_("Date"), pdf_date(quote.sent_at or quote.created_at)),
             (_("Valid until"), pdf_date(quote.valid_until)), (_("Subject"), opportunity.name)]
    pdf.facts(facts)
    widths = (26, 62, 18, 28, 16, 40)
    aligns = ("L", "L", "R", "R", "R", "R")
    pdf.row([_("SKU"), _("Description"), _("Quantity"), _("Unit price"), _("Tax"),
             _("Amount")], widths, bold=True, aligns=aligns)
    for line in lines:
        amount = line.line_gross if quote.prices_include_tax else line.line_net
        pdf.row([line.sku, line.description[:40],
                 formats.number_format(line.quantity, decimal_pos=0, use_l10n=True,
                                       force_grouping=True),
                 format_money(line.unit_price, currency), rate_text(line.tax_rate),
                 format_money(amount, currency)], widths, aligns=aligns)
    pdf.ln(3)
    pdf.pair(_("Net"), format_money(quote.total_net, currency))
    pdf.pair(_("Tax"), format_money(quote.total_tax, currency))
    pdf.pair(_("Total"), format_money(quote.total_gross, currency), bold=True)
    if quote.tax_exempt:
        pdf.ln(2)
        pdf.line_text(_("The buyer is exempt from tax."), size=9)
    if quote.note:
        pdf.ln(3)
        pdf.line_text(_("Notes"), bold=True, size=9)
        pdf.line_text(quote.note, size=9)
    return pdf.output_bytes()
