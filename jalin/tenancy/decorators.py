from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .roles import has_perm


def org_required(perm=None):
    """View decorator: signed in, acting for an organization, and (optionally) holding `perm`.

    Sets nothing new: views read request.organization / request.membership.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.membership is None:
                return redirect("tenancy:no_organization")
            if perm is not None and not has_perm(request.membership, perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.jalin_permission = perm
        return wrapped

    return decorator
