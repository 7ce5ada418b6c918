"""The Bahasa Indonesia catalog is complete, checked and compiled.

A new UI string without its Indonesian translation must fail CI instead of showing up in
English on an Indonesian page. When this fails: run the makemessages command in the header
of jalin/locale/id/LC_MESSAGES/django.po, translate every empty or fuzzy entry (and drop the
``#, fuzzy`` flag), then compile with ``.venv/bin/pybabel compile -d jalin/locale -D django``
and commit both the .po and the .mo.
"""

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

LC_MESSAGES = Path(__file__).resolve().parent.parent / "jalin" / "locale" / "id" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"


@pytest.fixture(scope="module")
def po_catalog():
    with PO_PATH.open("rb") as po_file:
        return read_po(po_file, locale="id", abort_invalid=True)


def _messages(catalog):
    """Every message except the header (whose id is empty)."""
    return [message for message in catalog if message.id]


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _is_translated(message):
    return all(_as_tuple(message.string))


def _translations(catalog):
    """{(context, msgid): msgstr} of the translated messages, as gettext would look them up."""
    translations = {}
    for message in _messages(catalog):
        if message.fuzzy or not _is_translated(message):
            continue
        context = message.context
        if isinstance(context, bytes):  # read_mo leaves the context undecoded
            context = context.decode(catalog.charset)
        translations[context, _as_tuple(message.id)] = _as_tuple(message.string)
    return translations


def _label(message):
    return _as_tuple(message.id)[0]


def test_catalog_has_messages(po_catalog):
    assert len(_messages(po_catalog)) > 100


def test_every_message_is_translated(po_catalog):
    untranslated = [_label(message) for message in _messages(po_catalog)
                    if not _is_translated(message)]
    assert untranslated == [], f"{len(untranslated)} message(s) without a translation"


def test_no_message_is_fuzzy(po_catalog):
    fuzzy = [_label(message) for message in _messages(po_catalog) if message.fuzzy]
    assert fuzzy == [], f"{len(fuzzy)} fuzzy message(s): check, fix and remove the flag"


def test_placeholders_match(po_catalog):
    """Babel's checkers: python-format placeholders of msgstr agree with the msgid."""
    problems = [(_label(message), [str(error) for error in errors])
                for message, errors in po_catalog.check()]
    assert problems == []


def test_compiled_catalog_matches_po(po_catalog):
    """The committed .mo holds exactly what compiling the .po gives (so it is not stale)."""
    compiled = BytesIO()
    write_mo(compiled, po_catalog)
    compiled.seek(0)
    expected = _translations(read_mo(compiled))
    with MO_PATH.open("rb") as mo_file:
        committed = _translations(read_mo(mo_file))
    assert expected == _translations(po_catalog)
    missing = sorted(msgid[0] for _context, msgid in expected.keys() - committed.keys())
    assert missing == [], "django.mo is older than django.po: run pybabel compile"
    assert committed == expected, "django.mo is older than django.po: run pybabel compile"
