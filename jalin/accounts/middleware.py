"""Server-side session limits: idle timeout and an absolute maximum session age."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .services import AUTHENTICATED_AT_SESSION_KEY, LAST_ACTIVITY_SESSION_KEY, user_log_out

# Refresh the last-activity stamp at most this often: writing the session row on every
# request would turn every page view (and every htmx poll) into a database write.
ACTIVITY_WRITE_INTERVAL_SECONDS = 60


class IdleTimeoutMiddleware:
    """Sign out a session unused for JALIN_IDLE_TIMEOUT_SECONDS, or older than
    SESSION_COOKIE_AGE since sign-in (saving the session slides its expiry, so the absolute
    limit has to be enforced here).

    Must sit after AuthenticationMiddleware. It runs before MessageMiddleware, so it writes its
    message through its own message storage.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            expired_message = self._expired_message(request.session, now)
            if expired_message:
                return self._sign_out(request, expired_message)
            last_activity = request.session.get(LAST_ACTIVITY_SESSION_KEY)
            if last_activity is None or now - last_activity >= ACTIVITY_WRITE_INTERVAL_SECONDS:
                request.session[LAST_ACTIVITY_SESSION_KEY] = now
            request.session.setdefault(AUTHENTICATED_AT_SESSION_KEY, now)
        return self.get_response(request)

    @staticmethod
    def _expired_message(session, now):
        last_activity = session.get(LAST_ACTIVITY_SESSION_KEY)
        if last_activity is not None and now - last_activity > settings.JALIN_IDLE_TIMEOUT_SECONDS:
            return _("You were signed out after a period of inactivity. Please sign in again.")
        authenticated_at = session.get(AUTHENTICATED_AT_SESSION_KEY)
        if authenticated_at is not None and now - authenticated_at > settings.SESSION_COOKIE_AGE:
            return _("Your session has ended. Please sign in again.")
        return None

    def _sign_out(self, request, message):
        user_log_out(request=request, reason="session_expired")
        is_htmx = request.headers.get("HX-Request") == "true"
        next_url = self._next_url(request, is_htmx)
        if is_htmx:
            # A redirect would be followed by htmx's XHR and swap the login page into a
            # fragment; HX-Redirect makes the browser navigate to it instead.
            response = HttpResponse(status=200)
            response["HX-Redirect"] = redirect_to_login(next_url)["Location"]
        else:
            response = redirect_to_login(next_url)
        storage = default_storage(request)
        storage.add(messages.INFO, message)
        storage.update(response)
        return response

    @staticmethod
    def _next_url(request, is_htmx):
        if is_htmx:
            # The page the person was on, not the fragment URL htmx fetched.
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            if current.path:
                return current.path + (f"?{current.query}" if current.query else "")
            return "/"
        if request.method == "GET":
            return request.get_full_path()
        return "/"
