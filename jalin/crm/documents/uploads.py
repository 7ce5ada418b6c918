"""Refusing oversized uploads before they reach the disk.

`DocumentSizeLimitHandler` goes first in `request.upload_handlers` of the document upload
views and API operations. A request whose Content-Length already says it is too large is
stopped at its first file, before any later handler opens a temporary file; a body without a
length (chunked) is stopped as soon as the file passes the limit, and the temporary file
started for it is closed (and so deleted). The rest of the body is not read. The view then
sees `request.document_upload_too_large` and answers 413.

Upload handlers must be installed before anything reads request.POST/FILES, which Django's
CSRF middleware does for ordinary views: hence `upload_view` (csrf_exempt outside, the
handler, csrf_protect inside) and `upload_auth` (the first "auth" callable of an API
operation, which ninja runs before it parses the body).
"""

from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from .services import max_bytes

# Room for the other multipart fields (CSRF token, record, title, description) and the
# multipart framing, on top of the file itself.
FORM_OVERHEAD = 64 * 1024
TOO_LARGE = "document_upload_too_large"


class DocumentSizeLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
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
        if self.request_length and self.request_length > max_bytes() + FORM_OVERHEAD:
            self._stop()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > max_bytes():
            self._stop()
        return raw_data

    def file_complete(self, file_size):
        return None


def install(request):
    if not any(isinstance(handler, DocumentSizeLimitHandler)
               for handler in request.upload_handlers):
        request.upload_handlers.insert(0, DocumentSizeLimitHandler(request))


def too_large(request):
    """Whether the handler stopped this request's body (reads the body if not done yet)."""
    if request.method == "POST":
        request.FILES  # noqa: B018 - parsing is lazy; the flag is set while parsing
    return getattr(request, TOO_LARGE, False)


def upload_view(view):
    """Wrap a page view that takes a document upload (see the module docstring)."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            install(request)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def upload_auth(request):
    """First in an upload operation's `auth` list: installs the handler, authenticates no
    one (so ninja goes on to the real authentication)."""
    install(request)
    return None
