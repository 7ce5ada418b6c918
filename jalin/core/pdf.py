"""A4 documents as PDF (fpdf2), shared by every module that prints: invoices and statements
(hub), service review reports (brm).

Text is set in DejaVu Sans, vendored in jalin/core/fonts/ (DejaVu licence beside it), so any
Unicode name prints — "Café Ñusantara", "株式会社" falls back to the font's coverage — and
nothing is fetched at run time. Should the font files be missing, text is transliterated to
Latin-1 instead of failing. Strings go through gettext, so the PDF is in the reader's language.
"""

import logging
import unicodedata
from pathlib import Path

from django.utils import formats
from django.utils.translation import gettext as _
from fpdf import FPDF

# fontTools logs every step of subsetting a font at INFO; keep the logs for what matters.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def latin1(text):
    """Latin-1 safe text for the core fonts: accents kept where Latin-1 has them, other
    letters decomposed to their base letter, anything else as '?'."""
    out = []
    for char in str(text):
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode(
                "latin-1")
            out.append(base or "?")
    return "".join(out)


class DocumentPDF(FPDF):
    def __init__(self, title):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_compression(True)
        self.unicode = all((FONT_DIR / name).exists() for name in FONT_FILES.values())
        if self.unicode:
            for style, name in FONT_FILES.items():
                self.add_font(FONT, style, str(FONT_DIR / name))
        self.family = FONT if self.unicode else "helvetica"
        self.set_title(self.text(title))
        self.set_creator("Jalin")
        self.set_auto_page_break(auto=True, margin=15)
        self.add_page()
        self.set_font(self.family, size=10)

    def text(self, value):
        value = "" if value is None else str(value)
        return value if self.unicode else latin1(value)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.family, size=8)
        self.cell(0, 6, self.text(_("Page %(page)s") % {"page": self.page_no()}), align="R")

    def heading(self, value, size=16):
        self.set_font(self.family, "B", size)
        self.cell(0, 9, self.text(value), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, size=10)

    def line_text(self, value, bold=False, size=10, height=5):
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, height, self.text(value), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, size=10)

    def row(self, cells, widths, bold=False, aligns=None, border="B"):
        self.set_font(self.family, "B" if bold else "", 9)
        aligns = aligns or ["L"] * len(cells)
        for value, width, align in zip(cells, widths, aligns, strict=True):
            self.cell(width, 6, self.text(value), border=border, align=align)
        self.ln(6)
        self.set_font(self.family, size=10)

    def pair(self, label, value, bold=False, width=140):
        self.set_font(self.family, "B" if bold else "", 10)
        self.cell(width, 6, self.text(label), align="R")
        self.cell(0, 6, self.text(value), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, size=10)

    def parties(self, left_title, left_lines, right_title, right_lines):
        """The two address blocks under a document's heading ("From" / "Bill to"), side by
        side; the text goes on below the taller one."""
        top = self.get_y()
        self.set_font(self.family, "B", 9)
        self.cell(90, 5, self.text(left_title), new_x="LMARGIN", new_y="NEXT")
        for text in left_lines:
            self.line_text(text, size=9, height=4.5)
        left_bottom = self.get_y()
        self.set_xy(110, top)
        self.set_font(self.family, "B", 9)
        self.cell(90, 5, self.text(right_title), new_x="LEFT", new_y="NEXT")
        for text in right_lines:
            self.set_x(110)
            self.set_font(self.family, "", 9)
            self.multi_cell(90, 4.5, self.text(text), new_x="LEFT", new_y="NEXT")
        self.set_y(max(left_bottom, self.get_y()) + 4)

    def facts(self, pairs):
        """A document's label/value lines (number, dates, terms), then a small gap."""
        for label, value in pairs:
            self.set_font(self.family, "B", 9)
            self.cell(40, 5, self.text(label))
            self.set_font(self.family, "", 9)
            self.multi_cell(0, 5, self.text(value), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def output_bytes(self):
        return bytes(self.output())


def pdf_date(value):
    """A date (or datetime) in the reader's short date format; empty for None."""
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else ""


def rate_text(value):
    """A tax rate as printed: "11%", "2.5%" (no trailing zeros)."""
    return f"{value.normalize():f}%"
