"""A small reader of the text that fpdf2 writes (for tests): uncompressed or Flate streams,
Type0 fonts whose strings are 2-byte glyph codes mapped back through the ToUnicode CMaps."""

import re
import zlib

STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", re.S)
BFCHAR = re.compile(rb"beginbfchar\s*(.*?)\s*endbfchar", re.S)
PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
TJ = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)


def _streams(data):
    for header, body in STREAM.findall(data):
        if b"FlateDecode" in header:
            try:
                body = zlib.decompress(body)
            except zlib.error:
                continue
        yield body


def _unescape(raw):
    out, index = bytearray(), 0
    while index < len(raw):
        char = raw[index]
        if char == 0x5C and index + 1 < len(raw):  # backslash
            nxt = raw[index + 1]
            mapping = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
            if nxt in mapping:
                out.append(mapping[nxt])
                index += 2
                continue
            if 0x30 <= nxt <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", raw[index + 1:index + 4]).group()
                out.append(int(digits, 8))
                index += 1 + len(digits)
                continue
            out.append(nxt)
            index += 2
            continue
        out.append(char)
        index += 1
    return bytes(out)


def pdf_text(data):
    """All text of the PDF, once decoded with each font's ToUnicode map (joined)."""
    streams = list(_streams(data))
    cmaps = []
    for body in streams:
        for block in BFCHAR.findall(body):
            cmaps.append({int(src, 16): chr(int(dst, 16)) for src, dst in PAIR.findall(block)})
    strings = [_unescape(raw) for body in streams for raw in TJ.findall(body)]
    texts = []
    for cmap in cmaps or [{}]:
        decoded = []
        for raw in strings:
            codes = [raw[i] << 8 | raw[i + 1] for i in range(0, len(raw) - 1, 2)]
            decoded.append("".join(cmap.get(code, "") for code in codes))
        texts.append(" ".join(decoded))
    return "\n".join(texts)
