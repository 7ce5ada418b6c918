"""Embeddable lead web forms: their settings and the spam checks of the public endpoint.

A form has a public `key` (it is in the embed code). The public endpoint `/sales/f/<key>/`
renders a standalone page meant for an `<iframe>` on the organization's site and accepts a
form POST from it, or a JSON POST from a site that posts directly. Spam protection:

- a honeypot field (`hp_company_url`, hidden from people) that must stay empty;
- a minimum fill time: the page carries a signed timestamp (`ts`), a submission sooner than
  `MIN_FILL_SECONDS` after it (or with a token older than a day, or forged) is refused;
- a per-IP rate limit (`RATE_LIMIT` submissions per `RATE_WINDOW` seconds, in the cache);
- a body size cap (`MAX_BODY_BYTES`);
- origins: the page may only be framed by, and a JSON POST only come from (CORS), the
  form's allowed sites.

Refusals are 4xx and create no lead.
"""

import secrets
from urllib.parse import urlsplit

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.params import int_param

from .leads import _invalid, _user, member_user
from .models import Campaign, LeadWebForm

FORM_FIELDS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "company": gettext_lazy("Company"),
    "job_title": gettext_lazy("Job title"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "website": gettext_lazy("Website"),
    "industry": gettext_lazy("Industry"),
    "company_size": gettext_lazy("Company size"),
    "country": gettext_lazy("Country (two letters)"),
    "region": gettext_lazy("Region"),
    "city": gettext_lazy("City"),
    "message": gettext_lazy("Message"),
}
DEFAULT_FIELDS = ["first_name", "last_name", "company", "email", "phone", "message"]
HONEYPOT = "hp_company_url"
MIN_FILL_SECONDS = 3
MAX_TOKEN_AGE = 24 * 3600
RATE_LIMIT = 5
RATE_WINDOW = 3600
MAX_BODY_BYTES = 16 * 1024
SALT = "jalin.sales.webform"
MAX_ORIGINS = 20


class SpamRefused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def clean_origin(value):
    value = (value or "").strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or (
            parts.query or parts.fragment or parts.username):
        raise _invalid("allowed_origins",
                       _("Give sites as origins, e.g. https://www.example.co.id (one a line)."))
    return f"{parts.scheme}://{parts.netloc.lower()}"


def webform_save(*, organization, actor, form=None, name, fields=None, thank_you="",
                 allowed_origins=(), default_owner=None, campaign=None, is_active=True):
    name = " ".join((name or "").split())
    if not name:
        raise _invalid("name", _("Give the form a name."), code="required")
    fields = list(dict.fromkeys(fields or DEFAULT_FIELDS))
    if not fields or any(field not in FORM_FIELDS for field in fields):
        raise _invalid("fields", _("Choose fields from the list."))
    if "email" not in fields and "phone" not in fields:
        raise _invalid("fields", _("Ask for an email or a phone, or the lead cannot be reached."))
    if isinstance(allowed_origins, str):
        allowed_origins = allowed_origins.split()
    if len(allowed_origins) > MAX_ORIGINS:
        raise _invalid("allowed_origins", _("At most 20 sites."))
    origins = list(dict.fromkeys(clean_origin(value) for value in allowed_origins if value))
    owner = member_user(organization, default_owner, field="default_owner_id")
    campaign_id = getattr(campaign, "pk", campaign)
    if campaign_id not in (None, ""):
        campaign = Campaign.objects.filter(organization=organization,
                                           pk=int_param(campaign_id) or -1).first()
        if campaign is None:
            raise _invalid("campaign_id", _("No such campaign."), code="not_found")
    else:
        campaign = None
    with transaction.atomic():
        form = form or LeadWebForm(organization=organization, key=secrets.token_urlsafe(18))
        created = form.pk is None
        form.name, form.fields, form.thank_you = name[:100], fields, (thank_you or "")[:300]
        form.allowed_origins, form.default_owner, form.campaign = origins, owner, campaign
        form.is_active = bool(is_active)
        form.save()
        audit_record(actor=actor, organization=organization,
                     action="sales.web_form." + ("created" if created else "updated"), obj=form,
                     after={"name": form.name, "fields": fields, "allowed_origins": origins})
        emit_event(type="sales.web_form." + ("created" if created else "updated"),
                   organization=organization, aggregate=form, actor=_user(actor),
                   payload={"name": form.name})
    return form


# --- Spam checks ---------------------------------------------------------------------------


def issue_token(form, now=None):
    now = now or timezone.now()
    return signing.dumps({"k": form.key, "t": int(now.timestamp())}, salt=SALT)


def check_token(form, token, now=None):
    now = now or timezone.now()
    try:
        data = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        raise SpamRefused(400, "bad_token", _("Reload the form and try again.")) from None
    if not isinstance(data, dict) or data.get("k") != form.key or not isinstance(
            data.get("t"), int):
        raise SpamRefused(400, "bad_token", _("Reload the form and try again."))
    age = now.timestamp() - data["t"]
    if age < MIN_FILL_SECONDS:
        raise SpamRefused(400, "too_fast", _("That was quick. Please wait a moment and send "
                                             "the form again."))
    if age > MAX_TOKEN_AGE:
        raise SpamRefused(400, "expired", _("The form expired. Reload it and try again."))


def check_rate(form, ip):
    key = f"sales-webform:{form.pk}:{ip}"
    cache.add(key, 0, RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, RATE_WINDOW)
        count = 1
    if count > RATE_LIMIT:
        raise SpamRefused(429, "rate_limited", _("Too many submissions. Try again later."))


def check_origin(form, origin, *, own_origin):
    """A POST must come from the form's own page or one of its allowed sites."""
    if not origin:
        return  # browsers that send no Origin (old ones) rely on the other checks
    origin = origin.rstrip("/").lower()
    if origin != own_origin.lower() and origin not in form.allowed_origins:
        raise SpamRefused(403, "origin_refused", _("This site may not send this form."))


def submitted_fields(form, data):
    """The lead fields a visitor sent that the form asks for, plus consent and UTM tags."""
    fields = {name: str(data.get(name) or "")[:5000] for name in form.fields}
    fields["email_opt_in"] = str(data.get("email_opt_in") or "").lower() in (
        "1", "on", "true", "yes")
    utm = {key: str(data.get(key) or "")[:200] for key in (
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        if data.get(key)}
    fields["utm"] = utm
    return fields


def validation_messages(error):
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return {key: " ".join(values) for key, values in error.message_dict.items()}
    return {"form": str(error)}
