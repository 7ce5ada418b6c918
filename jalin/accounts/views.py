from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import MEMBERS_MANAGE, TOKENS_OWN, has_perm

from .forms import ApiTokenCreateForm, LoginForm, PasswordResetForm, ProfileForm
from .models import User
from .selectors import api_tokens_visible_to
from .services import (
    TokenError,
    api_token_create,
    api_token_revoke,
    client_ip,
    password_changed,
    password_reset_completed,
    user_log_in,
    user_log_out,
    user_profile_update,
)


def _set_language_cookie(response, language):
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        user_log_in(request=self.request, user=user)
        response = HttpResponseRedirect(self.get_success_url())
        return _set_language_cookie(response, user.preferred_language)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_out:
            response.status_code = 429
        return response


@require_POST
@never_cache
def logout_view(request):
    user_log_out(request=request)
    messages.info(request, _("You have signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        password_reset_completed(user=form.user, ip_address=client_ip(self.request))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        password_changed(user=form.user, ip_address=client_ip(self.request))
        return response


@login_required
def profile(request):
    if request.method == "POST":
        # Validate against a copy: ModelForm validation writes the input onto its instance,
        # and the service must see the stored values to record what changed.
        form = ProfileForm(request.POST, instance=User.objects.get(pk=request.user.pk))
        if form.is_valid():
            user = user_profile_update(user=request.user, actor=request.user,
                                       **{f: form.cleaned_data[f] for f in form.Meta.fields})
            messages.success(request, _("Your profile was saved."))
            return _set_language_cookie(redirect("accounts:profile"), user.preferred_language)
        status = 400
    else:
        form = ProfileForm(instance=request.user)
        status = 200
    return render(request, "accounts/profile.html", {"form": form}, status=status)


def _token_page(request, form, *, status=200):
    tokens = api_tokens_visible_to(membership=request.membership)
    context = {
        "form": form,
        "tokens": tokens,
        "sees_whole_org": has_perm(request.membership, MEMBERS_MANAGE),
    }
    return render(request, "accounts/token_list.html", context, status=status)


@org_required(TOKENS_OWN)
def token_list(request):
    return _token_page(request, ApiTokenCreateForm())


@org_required(TOKENS_OWN)
@require_POST
def token_create(request):
    form = ApiTokenCreateForm(request.POST)
    if not form.is_valid():
        return _token_page(request, form, status=400)
    try:
        token, raw = api_token_create(
            membership=request.membership, name=form.cleaned_data["name"],
            actor=request.user, days=form.cleaned_data["days"],
        )
    except TokenError as exc:
        form.add_error("name", exc.message)
        return _token_page(request, form, status=400)
    # The raw token is in this one response only: keep it out of every cache.
    response = render(request, "accounts/token_created.html", {"token": token, "raw": raw})
    add_never_cache_headers(response)
    return response


@org_required(TOKENS_OWN)
@require_POST
def token_revoke(request, token_id):
    token = get_for_org_or_404(
        api_tokens_visible_to(membership=request.membership), request.organization, pk=token_id
    )
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("accounts:tokens")
