"""What the BRM registers share: their error, numbering (REQ-n, CSI-n) and small checks."""

from django.db.models import Max
from django.utils.translation import gettext as _

from jalin.core import numbering
from jalin.tenancy.services import StaleVersion, TenancyError

__all__ = ["RegisterError", "StaleVersion", "next_number", "user_or_none", "check_version"]

MAX_TEXT = 20_000
MAX_TITLE = 200


class RegisterError(TenancyError):
    """A register change that cannot be made as asked; `code` "forbidden" → 403,
    "not_found" → 404, anything else → 400/422. The message is shown to the user."""


def next_number(*, organization, register, model=None):
    """The next number of `register` ("requirement" → REQ-n, "improvement" → CSI-n) for
    `organization`, from the shared sequence "brm.<register>" (`jalin.core.numbering`). Call
    inside the transaction that creates the row: the sequence row stays locked until it
    commits, so two concurrent creations never get the same number (and a rolled-back one
    gives its number back). With `model`, never below the highest number its rows already
    carry (rows made before the counter existed, or by a data import)."""
    highest = 0
    if model is not None:
        highest = (model.objects.filter(organization=organization)
                   .aggregate(highest=Max("number"))["highest"] or 0)
    return numbering.next_number(organization=organization, scope=f"brm.{register}",
                                 after=highest)


def user_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def check_version(row, version):
    if version is not None and row.version != version:
        raise StaleVersion()


def clean_text(value, *, field, max_length=MAX_TEXT, required=False, label=None):
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if not isinstance(value, str):
        raise RegisterError(_("Enter text."), code="invalid", field=field)
    if required and not value:
        raise RegisterError(_("%(field)s is required.") % {"field": label or field},
                            code="required", field=field)
    if len(value) > max_length:
        raise RegisterError(_("At most %(max)d characters.") % {"max": max_length},
                            code="too_long", field=field)
    return value
