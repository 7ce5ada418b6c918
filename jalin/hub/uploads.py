"""Refusing oversized uploads (product images, catalog CSV files) before they reach the disk:
the same pattern as the CRM's document uploads (see jalin/crm/documents/uploads.py), with the
limit given per view. A request whose Content-Length already says it is too large is stopped
at its first file; a chunked body is stopped as soon as the file passes the limit. The view
then sees `too_large(request)` and answers 413.
"""

from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.views.decorators.csrf import csrf_exempt, csrf_protect

FORM_OVERHEAD = 64 * 1024
TOO_LARGE = "hub_upload_too_large"


class SizeLimitHandler(FileUploadHandler):
    def __init__(self, request=None, *, limit):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.request_length = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_length = content_length

    def _stop(self):
        if self.request is not None:
            setattr(self.request, TOO_LARGE, True)
        raise StopUpload(connection_reset=True)

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        if self.request_length and self.request_length > self.limit() + FORM_OVERHEAD:
            self._stop()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit():
            self._stop()
        return raw_data

    def file_complete(self, file_size):
        return None


def install(request, limit):
    if not any(isinstance(handler, SizeLimitHandler) for handler in request.upload_handlers):
        request.upload_handlers.insert(0, SizeLimitHandler(request, limit=limit))


def too_large(request):
    """Whether the handler stopped this request's body (reads the body if not done yet)."""
    if request.method == "POST":
        request.FILES  # noqa: B018 - parsing is lazy; the flag is set while parsing
    return getattr(request, TOO_LARGE, False)


def upload_view(limit):
    """Wrap a page view that takes an upload of at most `limit()` bytes."""
    def decorator(view):
        protected = csrf_protect(view)

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                install(request, limit)
            return protected(request, *args, **kwargs)

        return csrf_exempt(wrapped)
    return decorator


def upload_auth(limit):
    """First in an API upload operation's `auth` list: installs the handler, authenticates
    no one (so ninja goes on to the real authentication)."""
    def auth(request):
        install(request, limit)
        return None
    return auth
