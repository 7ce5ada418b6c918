"""The PDF of a service review report (fpdf2, on the shared `jalin.core.pdf.DocumentPDF`)."""

import datetime

from django.utils import formats
from django.utils.translation import gettext as _

from jalin.core.pdf import DocumentPDF, pdf_date

from .review_labels import labelled


def _day(value):
    return pdf_date(datetime.date.fromisoformat(value)) if value else ""


def _num(value, suffix=""):
    if value is None:
        return "—"
    return f"{formats.number_format(value, use_l10n=True)}{suffix}"


def review_pdf(*, review, report, supplier_name):
    report = labelled(report)
    title = _("Service review: %(account)s") % {"account": report["account"]["name"]}
    pdf = DocumentPDF(title)
    pdf.heading(title)
    pdf.line_text(_("%(supplier)s · review of %(date)s") % {
        "supplier": supplier_name, "date": _day(report.get("scheduled_for"))}, bold=True)
    pdf.line_text(_("Period: %(start)s – %(end)s") % {
        "start": _day(report["period"]["start"]), "end": _day(report["period"]["end"])})
    if review.held_at:
        pdf.line_text(_("Held on %(date)s") % {"date": pdf_date(review.held_at)})
    else:
        pdf.line_text(_("Draft: figures as of today; they are frozen when the review is held."))
    pdf.ln(3)

    sla = report["sla"]
    pdf.heading(_("SLA attainment"), size=12)
    pdf.line_text(_("%(achieved)s of %(total)s targets met: %(percent)s") % {
        "achieved": sla["achieved"], "total": sla["total"],
        "percent": _num(sla["attainment_percent"], " %")})
    widths = (50, 35, 25, 25, 25, 30)
    aligns = ("L", "L", "R", "R", "R", "R")
    pdf.row([_("Target"), _("Priority"), _("Total"), _("Met"), _("Breached"),
             _("Attainment")], widths, bold=True, aligns=aligns)
    for row in sla["rows"]:
        pdf.row([row["metric_label"], row["priority_label"], row["total"], row["achieved"],
                 row["breached"], _num(row["attainment_percent"], " %")], widths,
                aligns=aligns)
    if sla.get("results"):
        pdf.ln(2)
        pdf.line_text(_("Recorded SLA results per agreement"), bold=True, size=9)
        for row in sla["results"]:
            pdf.line_text(
                f"AGR-{row['agreement_number']} {row.get('metric_label', '')} "
                f"{row.get('priority_label', '')} {_day(row['period_start'])}–"
                f"{_day(row['period_end'])}: {_num(row.get('attainment_percent'), ' %')} "
                f"({_('required')} {_num(row.get('required_percent'), ' %')})", size=9)
    pdf.ln(3)

    cases = report["cases"]
    pdf.heading(_("Cases"), size=12)
    pdf.line_text(_("Opened %(opened)s, resolved %(resolved)s, complaints %(complaints)s, "
                    "open at the end %(open)s, with a breached SLA %(breached)s") % {
        "opened": cases["opened"], "resolved": cases["resolved"],
        "complaints": cases["complaints"], "open": cases["open_at_end"],
        "breached": cases["breached"]})
    widths = (70, 30, 30)
    pdf.row([_("Kind"), _("Opened"), _("Resolved")], widths, bold=True,
            aligns=("L", "R", "R"))
    for row in cases["by_kind"]:
        pdf.row([row["kind_label"], row["opened"], row["resolved"]], widths,
                aligns=("L", "R", "R"))
    pdf.ln(3)

    sat = report["satisfaction"]
    pdf.heading(_("Satisfaction"), size=12)
    pdf.line_text(_("CSAT: %(value)s (%(answers)s answers)") % {
        "value": _num(sat["csat"]["percent"], " %"), "answers": sat["csat"]["answers"]})
    pdf.line_text(_("NPS: %(value)s (%(answers)s answers: %(promoters)s promoters, "
                    "%(detractors)s detractors)") % {
        "value": _num(sat["nps"]["score"]), "answers": sat["nps"]["answers"],
        "promoters": sat["nps"]["promoters"], "detractors": sat["nps"]["detractors"]})
    pdf.line_text(_("CES: %(value)s (%(answers)s answers)") % {
        "value": _num(sat["ces"]["mean"]), "answers": sat["ces"]["answers"]})
    pdf.line_text(_("Response rate: %(value)s (%(answered)s of %(sent)s)") % {
        "value": _num(sat["response_rate"]["percent"], " %"),
        "answered": sat["response_rate"]["answered"], "sent": sat["response_rate"]["sent"]})
    pdf.ln(3)

    pdf.heading(_("Open improvements"), size=12)
    for row in report["improvements"] or [{"empty": True}]:
        if row.get("empty"):
            pdf.line_text(_("None."))
            break
        pdf.line_text(f"CSI-{row['number']} {row['title']} · {row['status_label']} · "
                      f"{row['source_label']}", size=9)
    pdf.ln(2)
    pdf.heading(_("Agreements due for renewal or review (next %(days)s days)") % {
        "days": report.get("agreements_ahead_days", 90)}, size=12)
    for row in report["agreements_due"] or [{"empty": True}]:
        if row.get("empty"):
            pdf.line_text(_("None."))
            break
        pdf.line_text(f"AGR-{row['number']} {row['title']} · {row['due_label']} "
                      f"{_day(row['date'])}", size=9)
    pdf.ln(2)
    pdf.heading(_("Requirements awaiting decision"), size=12)
    for row in report["requirements_awaiting"] or [{"empty": True}]:
        if row.get("empty"):
            pdf.line_text(_("None."))
            break
        pdf.line_text(f"REQ-{row['number']} {row['title']} · {row['status_label']}", size=9)
    pdf.ln(2)
    changes = report["changes"]
    pdf.heading(_("Changes affecting the customer"), size=12)
    pdf.line_text(_("Identified %(identified)s, with a documented response %(with)s, "
                    "without %(without)s") % {
        "identified": changes["identified"], "with": changes["with_response"],
        "without": changes["without_response"]})
    for row in changes["awaiting_response"]:
        pdf.line_text(f"{_day(row['identified_at'][:10])} {row['title']}", size=9)
    if review.minutes:
        pdf.ln(2)
        pdf.heading(_("Minutes and actions"), size=12)
        pdf.line_text(review.minutes, size=9)
    return pdf.output_bytes()
