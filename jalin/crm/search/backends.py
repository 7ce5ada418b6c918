"""Database objects behind search: the SQLite FTS5 table and the PostgreSQL indexes.

Both are created by migration 0004 and can be re-created by `jalin crm_reindex` (idempotent:
everything is IF NOT EXISTS). On SQLite the FTS5 table is an external-content table over
crm_searchdocument kept in step by triggers; note that Django rebuilds a SQLite table when a
later migration alters it, which drops its triggers: run `jalin crm_reindex` after such a
migration (it re-creates the triggers and rebuilds the FTS table).
"""

FTS_TABLE = "crm_searchdocument_fts"

SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        title, subtitle, body, content='crm_searchdocument', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON crm_searchdocument BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, subtitle, body)
        VALUES (new.id, new.title, new.subtitle, new.body);
    END""",  # noqa: S608 (constant table name)
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON crm_searchdocument BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, subtitle, body)
        VALUES ('delete', old.id, old.title, old.subtitle, old.body);
    END""",  # noqa: S608 (constant table name)
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE ON crm_searchdocument BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, subtitle, body)
        VALUES ('delete', old.id, old.title, old.subtitle, old.body);
        INSERT INTO {FTS_TABLE}(rowid, title, subtitle, body)
        VALUES (new.id, new.title, new.subtitle, new.body);
    END""",  # noqa: S608 (constant table name)
]
SQLITE_REBUILD = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"  # noqa: S608
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_au",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]

# jalin_unaccent: unaccent() is only STABLE (its dictionary could change), so it cannot sit
# in an index expression; this IMMUTABLE wrapper with a fixed dictionary can.
# jalin_search_vector: title weighted A, subtitle B, body D, accents removed.
PG_EXTENSIONS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
]
PG_CREATE = [
    """CREATE OR REPLACE FUNCTION jalin_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    """CREATE OR REPLACE FUNCTION jalin_search_vector(text, text, text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT
            setweight(to_tsvector('simple'::regconfig, jalin_unaccent(coalesce($1, ''))), 'A')
         || setweight(to_tsvector('simple'::regconfig, jalin_unaccent(coalesce($2, ''))), 'B')
         || setweight(to_tsvector('simple'::regconfig, jalin_unaccent(coalesce($3, ''))), 'D')
        $$""",
    # Full text (prefix tsquery) over title, subtitle and body.
    """CREATE INDEX IF NOT EXISTS crm_search_fts ON crm_searchdocument
        USING gin (jalin_search_vector(title, subtitle, body))""",
    # Typo tolerance: trigram similarity on the folded title.
    """CREATE INDEX IF NOT EXISTS crm_search_title_trgm ON crm_searchdocument
        USING gin (lower(jalin_unaccent(title)) gin_trgm_ops)""",
    # Typeahead: title prefix within one organization (LIKE 'budi%').
    """CREATE INDEX IF NOT EXISTS crm_search_title_prefix ON crm_searchdocument
        (organization_id, lower(jalin_unaccent(title)) text_pattern_ops)""",
    # Lists: name-prefix search (Django's istartswith is UPPER(col::text) LIKE UPPER('x%')).
    """CREATE INDEX IF NOT EXISTS crm_account_org_name_prefix ON crm_account
        (organization_id, upper(name::text) text_pattern_ops)""",
    """CREATE INDEX IF NOT EXISTS crm_contact_org_last_prefix ON crm_contact
        (organization_id, upper(last_name::text) text_pattern_ops)""",
    """CREATE INDEX IF NOT EXISTS crm_contact_org_first_prefix ON crm_contact
        (organization_id, upper(first_name::text) text_pattern_ops)""",
    # Phone search: prefix of the E.164 phone (LIKE '+62812%').
    """CREATE INDEX IF NOT EXISTS crm_account_org_phone_prefix ON crm_account
        (organization_id, phone varchar_pattern_ops)""",
    """CREATE INDEX IF NOT EXISTS crm_contact_org_phone_prefix ON crm_contact
        (organization_id, phone varchar_pattern_ops)""",
    # Lists filtered by owner keep their keyset order (name, id) without a sort.
    """CREATE INDEX IF NOT EXISTS crm_account_org_owner_name ON crm_account
        (organization_id, owner_id, name, id)""",
    """CREATE INDEX IF NOT EXISTS crm_contact_org_owner_name ON crm_contact
        (organization_id, owner_id, last_name, first_name, id)""",
]
PG_DROP = [
    "DROP INDEX IF EXISTS crm_contact_org_owner_name",
    "DROP INDEX IF EXISTS crm_contact_org_phone_prefix",
    "DROP INDEX IF EXISTS crm_account_org_phone_prefix",
    "DROP INDEX IF EXISTS crm_account_org_owner_name",
    "DROP INDEX IF EXISTS crm_contact_org_first_prefix",
    "DROP INDEX IF EXISTS crm_contact_org_last_prefix",
    "DROP INDEX IF EXISTS crm_account_org_name_prefix",
    "DROP INDEX IF EXISTS crm_search_title_prefix",
    "DROP INDEX IF EXISTS crm_search_title_trgm",
    "DROP INDEX IF EXISTS crm_search_fts",
    "DROP FUNCTION IF EXISTS jalin_search_vector(text, text, text)",
    "DROP FUNCTION IF EXISTS jalin_unaccent(text)",
]


def install(connection, *, rebuild=True):
    """Create (if missing) what search needs on this database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_CREATE:
                cursor.execute(statement)
            if rebuild:
                cursor.execute(SQLITE_REBUILD)
        elif connection.vendor == "postgresql":
            for statement in PG_EXTENSIONS + PG_CREATE:
                name = _index_name(statement)
                if name:
                    cursor.execute("SELECT to_regclass(%s)", [name])
                    if cursor.fetchone()[0] is not None:
                        continue  # (CREATE INDEX IF NOT EXISTS still refuses mid-transaction)
                cursor.execute(statement)


def _index_name(statement):
    words = statement.split()
    if words[:5] == ["CREATE", "INDEX", "IF", "NOT", "EXISTS"]:
        return words[5]
    return None


def uninstall(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for statement in PG_DROP:
                cursor.execute(statement)
