"""PDF of invoices, credit notes and statements of account (fpdf2), drawn on the shared
`jalin.core.pdf.DocumentPDF` (DejaVu Sans vendored in jalin/core/fonts/).
"""

from django.utils import formats
from django.utils.translation import gettext as _

from jalin.core.pdf import DocumentPDF, pdf_date, rate_text
from jalin.core.templatetags.jalin_ui import format_money

from .models import InvoiceKind, PaymentTerms


def _party_lines(organization):
    lines = [organization.legal_name or organization.name]
    if organization.legal_name and organization.legal_name != organization.name:
        lines.append(organization.name)
    if organization.address:
        lines.append(organization.address)
    place = " ".join(part for part in (organization.city, organization.country) if part)
    if place:
        lines.append(place)
    if organization.tax_id:
        lines.append(_("Tax ID (NPWP): %(tax_id)s") % {"tax_id": organization.tax_id})
    return lines


def _date(value):
    return pdf_date(value)


def _quantity(value):
    return formats.number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def payment_terms_text(relationship):
    if relationship.payment_terms == PaymentTerms.NET:
        return _("Net %(days)s days") % {"days": relationship.payment_days}
    return str(PaymentTerms(relationship.payment_terms).label)


def invoice_pdf(*, invoice, lines, taxes, allocations=(), applications=()):
    """The PDF (bytes) of an invoice or credit note."""
    is_credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    title = (_("Credit note %(number)s") if is_credit else _("Invoice %(number)s")) % {
        "number": str(invoice)}
    pdf = DocumentPDF(title)
    currency = invoice.currency
    pdf.heading(title)
    pdf.parties(_("From"), _party_lines(invoice.supplier),
                _("Bill to"), _party_lines(invoice.buyer))
    facts = [(_("Number"), str(invoice)), (_("Issue date"), _date(invoice.issue_date))]
    if not is_credit:
        facts.append((_("Due date"), _date(invoice.due_date)))
        facts.append((_("Payment terms"), payment_terms_text(invoice.relationship)))
    if invoice.order_id:
        facts.append((_("Order"), f"#{invoice.order.number}"))
        if invoice.order.buyer_reference:
            facts.append((_("Your reference"), invoice.order.buyer_reference))
    if is_credit and invoice.credited_invoice_id:
        facts.append((_("Credits invoice"), str(invoice.credited_invoice)))
    if is_credit:
        facts.append((_("Reason"), invoice.reason))
    pdf.facts(facts)
    widths = (26, 62, 18, 28, 16, 40)
    aligns = ("L", "L", "R", "R", "R", "R")
    pdf.row([_("SKU"), _("Description"), _("Quantity"), _("Unit price"), _("Tax"),
             _("Amount")], widths, bold=True, aligns=aligns)
    for line in lines:
        amount = line.line_gross if invoice.prices_include_tax else line.line_net
        pdf.row([line.sku, line.name[:40], f"{_quantity(line.quantity)} {line.unit}",
                 format_money(line.unit_price, currency), rate_text(line.tax_rate),
                 format_money(amount, currency)], widths, aligns=aligns)
    pdf.ln(2)
    pdf.line_text(_("Tax summary"), bold=True, size=9)
    tax_widths = (40, 50, 50, 50)
    pdf.row([_("Rate"), _("Net"), _("Tax"), _("Gross")], tax_widths, bold=True,
            aligns=("L", "R", "R", "R"))
    for row in taxes:
        pdf.row([rate_text(row.rate), format_money(row.net, currency),
                 format_money(row.tax, currency), format_money(row.gross, currency)],
                tax_widths, aligns=("L", "R", "R", "R"))
    pdf.ln(3)
    pdf.pair(_("Net"), format_money(invoice.total_net, currency))
    pdf.pair(_("Tax"), format_money(invoice.total_tax, currency))
    pdf.pair(_("Total"), format_money(invoice.total_gross, currency), bold=True)
    if is_credit:
        pdf.pair(_("Applied to invoices"), format_money(invoice.amount_settled, currency))
        pdf.pair(_("Credit left"), format_money(invoice.balance, currency), bold=True)
    else:
        pdf.pair(_("Paid and credited"), format_money(invoice.amount_settled, currency))
        pdf.pair(_("Balance due"), format_money(invoice.balance, currency), bold=True)
    if allocations:
        pdf.ln(3)
        pdf.line_text(_("Payments and credits"), bold=True, size=9)
        for allocation in allocations:
            source = allocation.payment or allocation.credit_note
            pdf.line_text(f"{_date(allocation.created_at)}  {source}  "
                          f"{format_money(allocation.amount, currency)}", size=9)
    if applications:
        pdf.ln(3)
        pdf.line_text(_("Applied to"), bold=True, size=9)
        for application in applications:
            pdf.line_text(f"{application.invoice}  "
                          f"{format_money(application.amount, currency)}", size=9)
    if invoice.tax_exempt:
        pdf.ln(2)
        pdf.line_text(_("The buyer is exempt from tax."), size=9)
    return pdf.output_bytes()


def statement_pdf(statement):
    """The PDF (bytes) of a statement of account."""
    relationship = statement.relationship
    currency = statement.currency
    title = _("Statement of account")
    pdf = DocumentPDF(f"{title} {relationship.buyer.name}")
    pdf.heading(title)
    pdf.line_text(_("%(supplier)s to %(buyer)s") % {
        "supplier": relationship.supplier.name, "buyer": relationship.buyer.name}, bold=True)
    pdf.line_text(_("From %(start)s to %(end)s") % {"start": _date(statement.start),
                                                    "end": _date(statement.end)})
    pdf.line_text(_("Payment terms: %(terms)s") % {"terms": payment_terms_text(relationship)})
    pdf.ln(3)
    widths = (22, 28, 22, 40, 26, 26, 26)
    aligns = ("L", "L", "L", "L", "R", "R", "R")
    pdf.row([_("Date"), _("Document"), _("Due"), _("Reference"), _("Debit"), _("Credit"),
             _("Balance")], widths, bold=True, aligns=aligns)
    pdf.row([_date(statement.start), _("Opening balance"), "", "", "", "",
             format_money(statement.opening, currency)], widths, aligns=aligns)
    for row in statement.rows:
        pdf.row([_date(row.date), row.number, _date(row.due_date), row.reference[:24],
                 format_money(row.debit, currency) if row.debit else "",
                 format_money(row.credit, currency) if row.credit else "",
                 format_money(row.balance, currency)], widths, aligns=aligns)
    pdf.row([_date(statement.end), _("Closing balance"), "", "",
             format_money(statement.total_debit, currency),
             format_money(statement.total_credit, currency),
             format_money(statement.closing, currency)], widths, bold=True, aligns=aligns)
    pdf.ln(4)
    pdf.line_text(_("Aging of open invoices on %(date)s") % {
        "date": _date(statement.aging.on_date)}, bold=True, size=9)
    for _key, label, amount in statement.aging.rows():
        pdf.pair(label, format_money(amount, currency), width=100)
    pdf.pair(_("Unapplied credit"), format_money(statement.aging.unapplied, currency),
             width=100)
    pdf.pair(_("Total due"), format_money(statement.aging.net, currency), bold=True,
             width=100)
    return pdf.output_bytes()
