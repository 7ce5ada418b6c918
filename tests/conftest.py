"""Shared fixtures: the three personas every feature is tested with.

- owner: org admin of `org` (a supplier)
- member: a sales user of the same `org`
- outsider: admin of `other_org`, a different company that must never see `org`'s data
"""

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

from jalin.accounts.models import User
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role

PASSWORD = "correct-horse-battery-staple-42"

# Property tests check behaviour, not speed: Hypothesis' default 200 ms deadline per example
# made them fail on a loaded 2-core machine (a database round trip can take that long).
hypothesis_settings.register_profile("jalin", deadline=None)
hypothesis_settings.load_profile("jalin")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix,
                                 tmp_path_factory):
    """On SQLite the test database is a file (in a temporary directory of this run), never
    Django's default in-memory database.

    Django's in-memory test database does not behave like the production file under
    concurrent requests: the live server (`live_server`, browser tests) either hands its one
    connection to every request thread (`connections_override`, when the database is set up
    before the server starts), so overlapping requests interleave on one connection and one
    transaction state, or its threads open shared-cache connections, whose table locks fail at
    once instead of waiting. A double-clicked button then answered 500 ('cannot release
    savepoint - SQL statements in progress', 'database table is locked'). With a file, each
    request thread has its own connection and WAL, BEGIN IMMEDIATE and the busy timeout
    serialize the writers, as in production."""
    from django.db import connections

    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if settings_dict["ENGINE"] == "django.db.backends.sqlite3" and not (
                settings_dict.get("TEST") or {}).get("NAME"):
            directory = tmp_path_factory.mktemp("sqlite")
            settings_dict.setdefault("TEST", {})["NAME"] = str(directory / f"test_{alias}.sqlite3")


@pytest.fixture(autouse=True, scope="session")
def _private_files_in_a_temporary_directory(tmp_path_factory):
    """Uploaded documents and import files of the whole test run go to a temporary
    directory, never into the checkout's data/private (tests may still point a single test
    at its own directory with `settings.STORAGES`)."""
    from django.conf import settings
    from django.test.utils import override_settings

    root = tmp_path_factory.mktemp("private")
    with override_settings(
        JALIN_PRIVATE_MEDIA_ROOT=root,
        STORAGES={**settings.STORAGES, "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None}}},
    ):
        yield root


def make_user(username, **extra):
    return User.objects.create_user(
        username=username, email=f"{username}@example.test", password=PASSWORD, **extra
    )


def make_org(slug, **extra):
    defaults = {"name": slug.replace("-", " ").title(), "is_supplier": True}
    defaults.update(extra)
    return Organization.objects.create(slug=slug, **defaults)


@pytest.fixture
def org(db):
    return make_org("acme-supply", tax_id="01.234.567.8-901.000")


@pytest.fixture
def other_org(db):
    return make_org("rival-trading", is_buyer=True)


@pytest.fixture
def owner(org):
    user = make_user("owner")
    Membership.objects.create(user=user, organization=org, role=Role.ORG_ADMIN)
    return user


@pytest.fixture
def member(org):
    user = make_user("member")
    Membership.objects.create(user=user, organization=org, role=Role.SALES)
    return user


@pytest.fixture
def outsider(other_org):
    user = make_user("outsider")
    Membership.objects.create(user=user, organization=other_org, role=Role.ORG_ADMIN)
    return user


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def member_client(member):
    return _client_for(member)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(outsider)
