"""Private file storage: uploaded documents and import files, outside the web root."""

import contextlib

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver

_private_file_referrers = []


def register_private_files(func):
    """Apps register `func(names) -> set of names it still refers to`, so that the sweep of
    orphaned private files (jalin.crm.housekeeping) never deletes a file another app keeps
    (product images, catalog import files, ...). Call it in AppConfig.ready."""
    if func not in _private_file_referrers:
        _private_file_referrers.append(func)


def referenced_private_files(names):
    """The subset of `names` that some registered app still refers to."""
    found = set()
    for func in _private_file_referrers:
        found |= set(func(names))
    return found


def private_storage():
    """The `private` storage from settings.STORAGES (a callable, so tests may swap it)."""
    return storages["private"]


@receiver(setting_changed)
def _private_storage_changed(*, setting, **kwargs):
    """A FileField calls `private_storage()` once, when its model class is built, and keeps
    the instance. When a test changes STORAGES (or JALIN_PRIVATE_MEDIA_ROOT), point those
    fields at the new `private` storage, so files land where the test said."""
    if setting not in ("STORAGES", "JALIN_PRIVATE_MEDIA_ROOT"):
        return
    from django.apps import apps
    from django.db.models import FileField

    with contextlib.suppress(AttributeError):
        del storages.backends
    storages._backends = None
    storages._storages = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (isinstance(field, FileField)
                    and getattr(field, "_storage_callable", None) is private_storage):
                field.storage = private_storage()
