"""Forms for the CRM pages. They only shape input; services decide (and validate custom
fields with the same rules as the API)."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import (
    Account,
    AccountStatus,
    AccountTier,
    Contact,
    CustomFieldDefinition,
    CustomFieldType,
    RelationshipRole,
)
from .search.widgets import AccountPickerWidget
from .services import ACCOUNT_FIELDS, CONTACT_FIELDS, linkable_buyers

CUSTOM_PREFIX = "custom__"


def add_service_error(form, error):
    """Put a CrmError / ValidationError from a service on the matching form field."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            field = _form_field(form, name)
            for item in errors:
                form.add_error(field, item.messages)
        return
    if isinstance(error, ValidationError):
        form.add_error(None, error.messages)
        return
    form.add_error(_form_field(form, error.field), error.message)


def _form_field(form, name):
    if not name:
        return None
    if name.startswith("custom."):
        name = CUSTOM_PREFIX + name.removeprefix("custom.")
    name = name.removesuffix("_id")
    return name if name in form.fields else None


def _members_of(organization):
    return get_user_model().objects.filter(
        memberships__organization=organization, memberships__is_active=True
    ).order_by("username")


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


def _custom_form_field(definition):
    kind = definition.type
    common = {"label": definition.label, "required": False}
    if kind == CustomFieldType.NUMBER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if kind == CustomFieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == CustomFieldType.URL:
        return forms.CharField(widget=forms.URLInput(), **common)
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in definition.choices],
                                 **common)
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=[(c, c) for c in definition.choices],
                                         widget=forms.CheckboxSelectMultiple, **common)
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), **common)


class CustomFieldsMixin:
    """Adds one form field per active definition; `custom_values()` returns the raw dict
    the service validates. Required-ness is checked by the service, not the browser, so the
    message is the same everywhere."""

    def add_custom_fields(self, definitions, existing):
        self.custom_definitions = definitions
        for definition in definitions:
            name = CUSTOM_PREFIX + definition.key
            self.fields[name] = _custom_form_field(definition)
            if definition.required:
                self.fields[name].label = f"{definition.label} *"
            if not self.is_bound and definition.key in (existing or {}):
                self.initial[name] = existing[definition.key]

    def custom_field_names(self):
        return [CUSTOM_PREFIX + d.key for d in self.custom_definitions]

    def custom_values(self):
        values = {}
        for definition in self.custom_definitions:
            value = self.cleaned_data.get(CUSTOM_PREFIX + definition.key)
            if definition.type == CustomFieldType.BOOLEAN:
                value = bool(value)
            values[definition.key] = value if value not in ("", []) else None
        return values


class AccountForm(CustomFieldsMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    tags_text = forms.CharField(label=_("Tags"), required=False,
                                help_text=_("Separate tags with commas."))
    owner = OwnerChoiceField(queryset=None, required=False, label=_("Owner"))
    parent = forms.ModelChoiceField(queryset=None, required=False, label=_("Parent account"))
    hub_organization = forms.ModelChoiceField(queryset=None, required=False,
                                              label=_("Buyer on the hub"))
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)

    class Meta:
        model = Account
        fields = ["name", "status", "tier", "size", "industry", "owner", "parent",
                  "hub_organization", "tax_id", "website", "phone", "billing_address",
                  "shipping_address"]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 2}),
                   "shipping_address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, organization, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        # Scoped choices: the page never offers another organization's rows. The parent list
        # is bounded so a huge organization does not render 100,000 options; the service
        # still checks whatever id arrives.
        self.fields["owner"].queryset = _members_of(organization)
        parents = Account.objects.filter(organization=organization, archived_at__isnull=True)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        self.fields["parent"].widget = AccountPickerWidget(queryset=parents,
                                                           exclude=self.instance.pk)
        self.fields["hub_organization"].queryset = linkable_buyers(organization).order_by(
            "name")
        if self.instance.pk and not self.is_bound:
            self.initial["tags_text"] = ", ".join(t.name for t in self.instance.tags.all())
            self.initial["version"] = self.instance.version
        self.add_custom_fields(definitions, self.instance.custom)

    def _post_clean(self):
        # The service validates and saves; the ModelForm must not touch the instance.
        pass

    def service_fields(self):
        data = {name: self.cleaned_data.get(name) for name in ACCOUNT_FIELDS}
        for name in ("industry", "size", "tax_id", "billing_address", "shipping_address",
                     "website", "phone"):
            data[name] = data[name] or ""
        return data

    def tags(self):
        return [t.strip() for t in self.cleaned_data.get("tags_text", "").split(",")
                if t.strip()]


class ContactForm(CustomFieldsMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    owner = OwnerChoiceField(queryset=None, required=False, label=_("Owner"))
    account = forms.ModelChoiceField(queryset=None, required=False, label=_("Account"))
    email = forms.CharField(label=_("Email"), required=False, max_length=254)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    extra_emails_text = forms.CharField(label=_("Other emails"), required=False,
                                        help_text=_("Separate with commas."))
    extra_phones_text = forms.CharField(label=_("Other phones"), required=False,
                                        help_text=_("Separate with commas."))

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "job_title", "account", "relationship_role",
                  "email", "phone", "email_opt_in", "phone_opt_in", "owner"]

    def __init__(self, *args, organization, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _members_of(organization)
        accounts = Account.objects.filter(organization=organization, archived_at__isnull=True)
        self.fields["account"].queryset = accounts
        self.fields["account"].widget = AccountPickerWidget(queryset=accounts)
        if self.instance.pk and not self.is_bound:
            self.initial["extra_emails_text"] = ", ".join(self.instance.extra_emails)
            self.initial["extra_phones_text"] = ", ".join(self.instance.extra_phones)
            self.initial["version"] = self.instance.version
        self.add_custom_fields(definitions, self.instance.custom)

    def _post_clean(self):
        pass

    def service_fields(self):
        data = {name: self.cleaned_data.get(name) for name in CONTACT_FIELDS
                if name not in ("extra_emails", "extra_phones")}
        for name in ("first_name", "job_title", "email", "phone", "relationship_role"):
            data[name] = data[name] or ""
        data["extra_emails"] = _split(self.cleaned_data.get("extra_emails_text"))
        data["extra_phones"] = _split(self.cleaned_data.get("extra_phones_text"))
        return data


def _split(text):
    return [item.strip() for item in (text or "").split(",") if item.strip()]


class CustomFieldForm(forms.Form):
    target = forms.ChoiceField(label=_("Record"), choices=CustomFieldDefinition._meta
                               .get_field("target").choices)
    key = forms.CharField(label=_("Key"), max_length=50,
                          help_text=_("Lower-case letters, digits and underscores."))
    label = forms.CharField(label=_("Label"), max_length=100)
    type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices_text = forms.CharField(label=_("Choices"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text=_("One per line, for choice fields."))
    required = forms.BooleanField(label=_("Required"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=10000,
                                  initial=0, required=False)

    def choices(self):
        return [line.strip() for line in self.cleaned_data.get("choices_text", "").splitlines()
                if line.strip()]


class CustomFieldEditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    label = forms.CharField(label=_("Label"), max_length=100)
    choices_text = forms.CharField(label=_("Choices"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text=_("One per line, for choice fields."))
    required = forms.BooleanField(label=_("Required"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=10000)
    active = forms.BooleanField(label=_("Active"), required=False)

    def choices(self):
        return [line.strip() for line in self.cleaned_data.get("choices_text", "").splitlines()
                if line.strip()]


class ListFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any"))] + list(AccountStatus.choices))
    tier = forms.ChoiceField(label=_("Tier"), required=False,
                             choices=[("", _("Any"))] + list(AccountTier.choices))
    owner = forms.IntegerField(label=_("Owner"), required=False, min_value=1,
                               max_value=2**63 - 1)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=60)
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=[("", _("Any"))] + list(RelationshipRole.choices))
    sort = forms.ChoiceField(label=_("Sort"), required=False,
                             choices=[("name", _("Name")), ("updated", _("Recently updated"))])
