"""Business rules for custom field values, shared by services, forms and the API.

`clean_custom_values` turns raw input (JSON from the API, strings from a form) into the
stored representation, or raises a `ValidationError` whose error_dict is keyed
`custom.<key>`, so every caller can show the message on the right field.

Stored representations (JSON): text/url/choice -> str, number -> int or float,
date -> "YYYY-MM-DD", boolean -> bool, multi_choice -> list of str (in definition order).
"""

import datetime
import math
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from .models import CustomFieldDefinition, CustomFieldType

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
MAX_TEXT_LENGTH = 1000
MAX_CHOICES = 100
MAX_CHOICE_LENGTH = 100
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def definitions_for(*, organization, target, active_only=True):
    queryset = CustomFieldDefinition.objects.filter(organization=organization, target=target)
    if active_only:
        queryset = queryset.filter(active=True)
    return list(queryset.order_by("position", "id"))


def _is_empty(value):
    return value is None or value == "" or value == []


def clean_value(definition, value):
    """One value in its stored form; raises ValidationError(message, code)."""
    kind = definition.type
    if kind == CustomFieldType.TEXT:
        if not isinstance(value, str):
            raise ValidationError(_("Enter text."), code="invalid_type")
        value = value.strip()
        if len(value) > MAX_TEXT_LENGTH:
            raise ValidationError(_("Use at most %(max)d characters.") % {"max": MAX_TEXT_LENGTH},
                                  code="too_long")
        return value
    if kind == CustomFieldType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."), code="invalid_type")
        if isinstance(value, (int, float)):
            number = Decimal(str(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip().replace(",", "."))
            except InvalidOperation:
                raise ValidationError(_("Enter a number."), code="invalid_number") from None
        else:
            raise ValidationError(_("Enter a number."), code="invalid_type")
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise ValidationError(_("Enter a number."), code="invalid_number")
        if number == number.to_integral_value():
            return int(number)
        as_float = float(number)
        if math.isinf(as_float):
            raise ValidationError(_("Enter a number."), code="invalid_number")
        return as_float
    if kind == CustomFieldType.DATE:
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value.isoformat()
        if not isinstance(value, str):
            raise ValidationError(_("Enter a date as YYYY-MM-DD."), code="invalid_type")
        try:
            return datetime.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise ValidationError(_("Enter a date as YYYY-MM-DD."),
                                  code="invalid_date") from None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValidationError(_("Enter true or false."), code="invalid_type")
    if kind == CustomFieldType.URL:
        if not isinstance(value, str):
            raise ValidationError(_("Enter a web address."), code="invalid_type")
        value = value.strip()
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            raise ValidationError(_("Enter a web address starting with http:// or https://."),
                                  code="invalid_url") from None
        return value
    if kind == CustomFieldType.CHOICE:
        if not isinstance(value, str) or value not in definition.choices:
            raise ValidationError(_("Pick one of: %(choices)s.")
                                  % {"choices": ", ".join(definition.choices)},
                                  code="invalid_choice")
        return value
    if kind == CustomFieldType.MULTI_CHOICE:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError(_("Enter a list of choices."), code="invalid_type")
        unknown = [item for item in value if item not in definition.choices]
        if unknown:
            raise ValidationError(_("Not a choice: %(values)s.") % {"values": ", ".join(unknown)},
                                  code="invalid_choice")
        return [choice for choice in definition.choices if choice in value]
    raise ValidationError(_("This field has an unknown type."), code="invalid_type")


def clean_custom_values(*, definitions, values, existing=None, partial=False):
    """The new `custom` dict for a record.

    `values` maps keys to raw values; None or "" clears a value. With `partial` (PATCH) keys
    not in `values` keep their `existing` value. Values of inactive or deleted definitions
    already stored are kept untouched, so deactivating a field loses nothing.
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValidationError({"custom": [ValidationError(_("Send an object."),
                                                          code="invalid_type")]})
    by_key = {definition.key: definition for definition in definitions}
    existing = dict(existing or {})
    result = {key: value for key, value in existing.items() if key not in by_key}
    errors = {}
    for key in values:
        if key not in by_key:
            errors[f"custom.{key}"] = [ValidationError(_("There is no custom field %(key)s.")
                                                       % {"key": key}, code="unknown_field")]
    for key, definition in by_key.items():
        if key in values:
            raw = values[key]
        elif partial:
            raw = existing.get(key)
        else:
            raw = None
        if _is_empty(raw):
            if definition.required:
                errors[f"custom.{key}"] = [ValidationError(
                    _("%(label)s is required.") % {"label": definition.label}, code="required")]
            continue
        if key not in values and partial:
            result[key] = raw  # unchanged, already clean
            continue
        try:
            result[key] = clean_value(definition, raw)
        except ValidationError as error:
            errors[f"custom.{key}"] = [error]
    if errors:
        raise ValidationError(errors)
    return result


def clean_choices(field_type, choices):
    """The choice list of a definition: required for choice types, stripped, unique."""
    if field_type not in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
        return []
    if not isinstance(choices, list) or not all(isinstance(item, str) for item in choices):
        raise ValidationError({"choices": [ValidationError(_("Send a list of strings."),
                                                           code="invalid_type")]})
    cleaned = []
    for item in choices:
        item = item.strip()
        if item and item not in cleaned:
            cleaned.append(item)
    if not cleaned:
        raise ValidationError({"choices": [ValidationError(
            _("A choice field needs at least one choice."), code="required")]})
    if len(cleaned) > MAX_CHOICES or any(len(item) > MAX_CHOICE_LENGTH for item in cleaned):
        raise ValidationError({"choices": [ValidationError(
            _("Use at most %(count)d choices of at most %(length)d characters.")
            % {"count": MAX_CHOICES, "length": MAX_CHOICE_LENGTH}, code="too_long")]})
    return cleaned


def display_value(definition, value):
    """A value as people read it (detail pages, CSV)."""
    if value is None or value == "":
        return ""
    if definition.type == CustomFieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if definition.type == CustomFieldType.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(value)
    return str(value)
