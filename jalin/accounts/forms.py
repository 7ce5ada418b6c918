from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import User
from .services import LockedOut, authenticate_with_lockout, client_ip, password_reset_requested


class LoginForm(auth_forms.AuthenticationForm):
    """Django's sign-in form, with the username+IP lockout in front of the password check."""

    locked_out = False

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = authenticate_with_lockout(
                    request=self.request, username=username, password=password,
                    ip_address=client_ip(self.request),
                )
            except LockedOut as exc:
                self.locked_out = True
                raise ValidationError(str(exc), code="locked_out") from exc
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form; each email actually sent is written to the audit log."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email,
                  to_email, html_email_template_name=None):
        super().send_mail(subject_template_name, email_template_name, context, from_email,
                          to_email, html_email_template_name)
        request = getattr(self, "_request", None)
        password_reset_requested(
            user=context["user"], ip_address=client_ip(request) if request else None
        )

    def save(self, *args, request=None, **kwargs):
        self._request = request
        return super().save(*args, request=request, **kwargs)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "preferred_language"]
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }
        labels = {"preferred_language": _("Preferred language")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A reset link goes to this address, so it must be there and valid.
        self.fields["email"].required = True
        self.fields["preferred_language"].choices = [
            ("", _("Browser default")), *settings.LANGUAGES
        ]


def _token_lifetime_choices():
    days = sorted({30, 90, 180, settings.JALIN_API_TOKEN_DAYS})
    return [(str(d), _("%(days)d days") % {"days": d}) for d in days]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        help_text=_("What will use it, e.g. “ERP sync”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    days = forms.TypedChoiceField(label=_("Valid for"), coerce=int, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = _token_lifetime_choices()
        self.fields["days"].initial = str(settings.JALIN_API_TOKEN_DAYS)
