"""Private file storage: uploaded documents and import files, outside the web root."""

from django.core.files.storage import storages


def private_storage():
    """The `private` storage from settings.STORAGES (a callable, so tests may swap it)."""
    return storages["private"]
