"""Reads for search: ranked hits across accounts, contacts, activities and documents.

`search()` runs one SQL query (two on PostgreSQL when the full-text query found fewer hits
than asked for and a typo-tolerant trigram pass runs), always scoped by organization, never
a COUNT. User input only ever reaches the database as a bound parameter; the FTS5 / tsquery
expression is built here from word tokens, so quotes, operators, `*`, `NEAR(` and the like
are plain text, never syntax.

- SQLite: the FTS5 table `crm_searchdocument_fts` (unicode61, diacritics removed, prefix
  indexes for 2 and 3 characters); every token is a prefix; bm25 with the title weighted
  10x, plus a boost when the title starts with the query.
- PostgreSQL: `jalin_search_vector(title, subtitle, body) @@ prefix tsquery` on a GIN index,
  ranked by ts_rank (title A, subtitle B, body D) plus a title-prefix boost; candidates are
  bounded (title-prefix matches from a btree, then full-text matches) so a two-letter query
  over a million contacts ranks a few hundred rows, not all of them. Trigram similarity on
  the title catches typos when full text finds too little.

Phones: a query that looks like a phone number is normalized to E.164 and matched against
the E.164 numbers in the body. Emails match as a whole (PostgreSQL keeps an email as one
lexeme) or by their leading words.
"""

import json
import re
import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.urls import NoReverseMatch, reverse

from .index import ACCOUNT, ACTIVITY, CONTACT, DOCUMENT, KINDS

MIN_QUERY = 2
MAX_QUERY = 100
MAX_LIMIT = 50
MAX_TOKENS = 8
TRIGRAM_MIN = 3
TRIGRAM_THRESHOLD = 0.5
TRIGRAM_BELOW = 3  # typo pass only when full text found fewer hits than this

_WORD = re.compile(r"[^\W_]+")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{3,}$")
_EMAILISH = re.compile(r"^[\w.+\-']+@[\w.\-]*$")

URL_NAMES = {
    ACCOUNT: "crm:account_detail",
    CONTACT: "crm:contact_detail",
    ACTIVITY: "crm:activity_detail",
    DOCUMENT: "crm:document_detail",
}


@dataclass
class Hit:
    kind: str
    id: int
    title: str
    subtitle: str
    url: str


def fold(text):
    """Lower-case, accents removed (NFKD minus combining marks), like jalin_unaccent+lower."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def clean_query(query):
    """The query as searched, or "" when it is too short to run."""
    query = " ".join(str(query or "").split())[:MAX_QUERY]
    return query if len(query) >= MIN_QUERY else ""


def clean_kinds(kinds):
    if not kinds:
        return list(KINDS)
    if isinstance(kinds, str):
        kinds = kinds.split(",")
    return [kind for kind in KINDS if kind in {str(k).strip() for k in kinds}]


def phone_digits(query, *, region="ID"):
    """E.164 digits (no +) when `query` looks like a phone number, else None. A number too
    short to be valid still searches by its digits, a leading 0 read as the national
    prefix."""
    count = sum(ch.isdigit() for ch in query)
    if not _PHONE.match(query) or count < (3 if query.startswith("+") else 6):
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(query, region or "ID")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    except phonenumbers.NumberParseException:
        pass
    digits = "".join(ch for ch in query if ch.isdigit())
    if not query.lstrip().startswith("+") and digits.startswith("0"):
        code = phonenumbers.country_code_for_region(region or "ID")
        if code:
            digits = f"{code}{digits[1:]}"
    return digits


def _url(kind, object_id):
    try:
        return reverse(URL_NAMES[kind], args=[object_id])
    except NoReverseMatch:  # a kind whose pages are not installed
        return ""


def _document_parent_urls(document_ids):
    """Documents without pages of their own open on the record they are filed under (one
    query for all of them)."""
    from ..models import Document

    urls = {}
    rows = Document.objects.filter(pk__in=document_ids).values_list(
        "pk", "account_id", "contact_id", "activity_id")
    for pk, account_id, contact_id, activity_id in rows:
        if account_id:
            urls[pk] = _url(ACCOUNT, account_id)
        elif contact_id:
            urls[pk] = _url(CONTACT, contact_id)
        elif activity_id:
            urls[pk] = _url(ACTIVITY, activity_id)
    return urls


def _hits(rows):
    hits = [Hit(kind=kind, id=object_id, title=title, subtitle=subtitle,
                url=_url(kind, object_id))
            for kind, object_id, title, subtitle in rows]
    orphans = [hit.id for hit in hits if hit.kind == DOCUMENT and not hit.url]
    if orphans:
        parents = _document_parent_urls(orphans)
        for hit in hits:
            if hit.kind == DOCUMENT and not hit.url:
                hit.url = parents.get(hit.id, "")
    return [hit for hit in hits if hit.url]


def search(*, organization, query, kinds=None, limit=10):
    """Ranked hits for `query` in `organization` (best first); [] for a query under two
    characters, without touching the database. `limit` is capped at 50."""
    try:
        limit = max(1, min(int(limit), MAX_LIMIT))
    except (TypeError, ValueError):
        limit = 10
    return _search(organization, query, kinds, limit)


def _search(organization, query, kinds, limit):
    query = clean_query(query)
    kinds = clean_kinds(kinds)
    if not query or not kinds:
        return []
    region = getattr(organization, "country", "") or "ID"
    if connection.vendor == "postgresql":
        return _hits(_search_postgres(organization.pk, query, kinds, limit, region))
    return _hits(_search_sqlite(organization.pk, query, kinds, limit, region))


def _like_prefix(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --- SQLite ---------------------------------------------------------------------------------


def _fts5_match(query, region):
    digits = phone_digits(query, region=region)
    tokens = [digits] if digits else _WORD.findall(fold(query))
    tokens = tokens[:MAX_TOKENS]
    if not tokens:
        return ""
    # Each token a quoted string (quotes doubled) with a prefix star: never FTS5 syntax.
    return " ".join('"' + token.replace('"', '""') + '"*' for token in tokens)


SQLITE_SQL = """
    SELECT d.kind, d.object_id, d.title, d.subtitle
    FROM crm_searchdocument_fts f JOIN crm_searchdocument d ON d.id = f.rowid
    WHERE crm_searchdocument_fts MATCH %s AND d.organization_id = %s
      AND d.kind IN (SELECT value FROM json_each(%s))
    ORDER BY CASE WHEN d.title LIKE %s ESCAPE '\\' THEN 0 ELSE 1 END,
             bm25(crm_searchdocument_fts, 10.0, 3.0, 1.0), d.id
    LIMIT %s"""


def _search_sqlite(org_id, query, kinds, limit, region):
    match = _fts5_match(query, region)
    if not match:
        return []
    with connection.cursor() as cursor:
        cursor.execute(SQLITE_SQL, [match, org_id, json.dumps(kinds), _like_prefix(query),
                                    limit])
        return cursor.fetchall()


# --- PostgreSQL -----------------------------------------------------------------------------


def _lexeme(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "':*"


def _tsquery(query):
    """A tsquery literal (cast with ::tsquery, so no parser runs on user text): every token
    a quoted prefix lexeme, joined with &. Emails stay whole (the parser keeps an email as
    one lexeme); a number also matches as '+<digits>' (how the parser keeps E.164 phones)."""
    lexemes = []
    for chunk in fold(query).split():
        if "@" in chunk and _EMAILISH.match(chunk.strip(".,;")):
            lexemes.append(chunk.strip(".,;"))
        else:
            lexemes.extend(_WORD.findall(chunk))
    parts = []
    for lexeme in lexemes[:MAX_TOKENS]:
        if lexeme.isdigit():
            parts.append(f"({_lexeme(lexeme)} | {_lexeme('+' + lexeme)})")
        else:
            parts.append(_lexeme(lexeme))
    return " & ".join(parts)


# Expressions must stay exactly those of the indexes in backends.PG_CREATE.
PG_SQL = """
    WITH q AS (SELECT %(tsq)s::tsquery AS query),
    candidates AS (
        (SELECT d.id FROM crm_searchdocument d
         WHERE d.organization_id = %(org)s AND d.kind = ANY(%(kinds)s)
           AND lower(jalin_unaccent(d.title)) LIKE %(prefix)s
         LIMIT 50)
        UNION
        (SELECT d.id FROM crm_searchdocument d, q
         WHERE d.organization_id = %(org)s AND d.kind = ANY(%(kinds)s)
           AND jalin_search_vector(d.title, d.subtitle, d.body) @@ q.query
         LIMIT 150)
    )
    SELECT d.kind, d.object_id, d.title, d.subtitle
    FROM crm_searchdocument d JOIN candidates c ON c.id = d.id, q
    ORDER BY (CASE WHEN lower(jalin_unaccent(d.title)) = %(exact)s THEN 2
                   WHEN lower(jalin_unaccent(d.title)) LIKE %(prefix)s THEN 1 ELSE 0 END)
             + ts_rank(jalin_search_vector(d.title, d.subtitle, d.body), q.query) DESC,
             d.title, d.id
    LIMIT %(limit)s"""

PG_TRIGRAM_SQL = """
    SELECT d.kind, d.object_id, d.title, d.subtitle
    FROM crm_searchdocument d
    WHERE d.organization_id = %(org)s AND d.kind = ANY(%(kinds)s)
      AND %(folded)s <%% lower(jalin_unaccent(d.title))
    ORDER BY word_similarity(%(folded)s, lower(jalin_unaccent(d.title))) DESC, d.id
    LIMIT %(limit)s"""


PHONE_SQL = """
    SELECT d.kind, d.object_id, d.title, d.subtitle
    FROM (
        (SELECT 'contact' AS kind, c.id FROM crm_contact c
         WHERE c.organization_id = %(org)s AND c.archived_at IS NULL AND c.phone LIKE %(phone)s
         LIMIT %(limit)s)
        UNION ALL
        (SELECT 'account' AS kind, a.id FROM crm_account a
         WHERE a.organization_id = %(org)s AND a.archived_at IS NULL AND a.phone LIKE %(phone)s
         LIMIT %(limit)s)
        UNION ALL
        (SELECT d.kind, d.object_id FROM crm_searchdocument d
         WHERE d.organization_id = %(org)s
           AND jalin_search_vector(d.title, d.subtitle, d.body) @@ %(exact)s::tsquery
         LIMIT %(limit)s)
    ) p
    JOIN crm_searchdocument d
      ON d.organization_id = %(org)s AND d.kind = p.kind AND d.object_id = p.id
    WHERE d.kind = ANY(%(kinds)s)
    GROUP BY d.id, d.kind, d.object_id, d.title, d.subtitle
    ORDER BY d.title, d.id
    LIMIT %(limit)s"""


def _search_postgres(org_id, query, kinds, limit, region):
    folded = fold(query)
    digits = phone_digits(query, region=region)
    with connection.cursor() as cursor:
        if digits:
            # A phone: prefix of the E.164 phone columns (btree, pattern ops), or any of a
            # contact's other numbers exactly (a whole lexeme in the body).
            cursor.execute(PHONE_SQL, {"org": org_id, "phone": _like_prefix("+" + digits),
                                       "exact": _lexeme("+" + digits).removesuffix(":*"),
                                       "kinds": kinds, "limit": limit})
            return cursor.fetchall()
        tsquery = _tsquery(query)
        rows = []
        if tsquery:
            cursor.execute(PG_SQL, {"tsq": tsquery, "org": org_id, "kinds": kinds,
                                 "prefix": _like_prefix(folded), "exact": folded,
                                 "limit": limit})
            rows = cursor.fetchall()
        if len(rows) < min(limit, TRIGRAM_BELOW) and len(folded) >= TRIGRAM_MIN:
            seen = {(kind, object_id) for kind, object_id, _t, _s in rows}
            # The default word-similarity threshold (0.6) misses one swapped letter in a
            # six-letter word; 0.5 catches it and still rejects unrelated names.
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
                           [str(TRIGRAM_THRESHOLD)])
            cursor.execute(PG_TRIGRAM_SQL, {"org": org_id, "kinds": kinds, "folded": folded,
                                     "limit": limit})
            rows += [row for row in cursor.fetchall() if (row[0], row[1]) not in seen]
    return rows[:limit]


PAGE_SIZE = 20
MAX_PAGES = 10


def search_page(*, organization, query, kind, page=1):
    """Page `page` (1-based) of the hits of one kind for the full results page: (hits,
    has_next). Ranked search pages by offset over at most MAX_PAGES pages: search narrows,
    it does not browse a million rows."""
    page = max(1, min(int(page), MAX_PAGES))
    offset = (page - 1) * PAGE_SIZE
    hits = _search(organization, query, [kind], offset + PAGE_SIZE + 1)
    return hits[offset:offset + PAGE_SIZE], len(hits) > offset + PAGE_SIZE and page < MAX_PAGES
