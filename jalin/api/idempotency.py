"""`Idempotency-Key` support for unsafe methods.

    @router.post("/invitations", response={201: InvitationOut})
    @idempotent
    def invitation_create(request, payload: InvitationIn): ...

A client that sends `Idempotency-Key: <unique string>` may retry the request safely:

- the first request runs and its response (status + body) is stored with the key;
- a retry with the same key, method, path and body gets that stored response again, with the
  header `Idempotent-Replayed: true`, and nothing runs twice;
- the same key with a different body, method or path is a 422 `idempotency_key_reused`;
- concurrent duplicates: the record is inserted first, in the same transaction that runs the
  handler and stores the response. On PostgreSQL the second insert waits on the unique index
  until the first commits, then finds the finished record and replays it. (SQLite runs write
  transactions one at a time, which gives the same result.)
- 5xx responses are not stored: the whole transaction rolls back, so a retry runs again.
- keys live 24 hours (`idempotency_records_purge`).

Two layers, because the scope (who is calling) is only known after authentication, which
ninja runs inside `Operation.run`:
 * around `Operation.run`: one transaction for the whole request; store or roll back at the end;
 * around the view function: claim the key (insert-or-get), replay or refuse, else run.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.decorators import decorate_view

from .errors import ProblemError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255

_CLAIM_ATTR = "_jalin_idempotency_claim"


def _valid_key(key):
    return 0 < len(key) <= MAX_KEY_LENGTH and all(0x21 <= ord(ch) <= 0x7E for ch in key)


def request_fingerprint(body: bytes) -> str:
    """sha256 of the body; JSON is canonicalized so key order and spacing do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except (ValueError, UnicodeError, RecursionError):
        data = body
    return hashlib.sha256(data).hexdigest()


def _replay(record):
    response = HttpResponse(
        record.response_body, status=record.status_code,
        content_type=record.response_content_type or None,
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(request, key):
    """Insert the record for `key`, or return the existing one (created=False)."""
    fingerprint = request_fingerprint(request.body)
    scope = {"organization": request.membership.organization, "user": request.user, "key": key}
    defaults = {"method": request.method, "path": request.path,
                "request_fingerprint": fingerprint}
    record, created = IdempotencyRecord.objects.get_or_create(**scope, defaults=defaults)
    if not created and record.created_at <= timezone.now() - TTL:
        # Expired but not purged yet: the key is free again.
        record.delete()
        record, created = IdempotencyRecord.objects.get_or_create(**scope, defaults=defaults)
    return record, created, fingerprint


def _key_reused():
    return ProblemError(
        422, code="idempotency_key_reused", title=_("Idempotency key reused"),
        detail=_("This Idempotency-Key was already used for a different request."),
        errors=[{"field": HEADER, "loc": ["header", HEADER],
                 "message": _("Use a new key for a new request."),
                 "code": "idempotency_key_reused"}],
    )


def _wrap_view(view):
    @wraps(view)
    def claim_then_run(request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or getattr(request, "membership", None) is None:
            return view(request, *args, **kwargs)
        if not _valid_key(key):
            raise ProblemError(
                400, code="invalid_idempotency_key", title=_("Invalid Idempotency-Key"),
                detail=_("Use 1 to %(max)d visible ASCII characters, e.g. a UUID.")
                % {"max": MAX_KEY_LENGTH},
            )
        record, created, fingerprint = _claim(request, key)
        if not created:
            if (record.method, record.path, record.request_fingerprint) != (
                request.method, request.path, fingerprint
            ):
                raise _key_reused()
            if record.status_code is None:
                # Not reachable while the claim and the result commit together; kept so a
                # half-written record can never be replayed as if it were a response.
                raise ProblemError(409, code="idempotency_in_progress",
                                   detail=_("A request with this key is still running."))
            return _replay(record)
        setattr(request, _CLAIM_ATTR, record)
        # A savepoint, so a failing handler leaves the outer transaction usable for the record.
        with transaction.atomic():
            return view(request, *args, **kwargs)

    return claim_then_run


def _wrap_run(run):
    @wraps(run)
    def in_one_transaction(request, *args, **kwargs):
        if HEADER not in request.headers:
            return run(request, *args, **kwargs)
        with transaction.atomic():
            response = run(request, *args, **kwargs)
            record = getattr(request, _CLAIM_ATTR, None)
            if record is not None:
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                else:
                    record.status_code = response.status_code
                    record.response_body = response.content.decode("utf-8")
                    record.response_content_type = response.get("Content-Type", "")
                    record.completed_at = timezone.now()
                    record.save(update_fields=["status_code", "response_body",
                                               "response_content_type", "completed_at"])
        return response

    return in_one_transaction


def idempotent(view):
    """Make an operation honour `Idempotency-Key`. Put it below the @router.<method> line."""
    wrapped = _wrap_view(view)
    decorate_view(_wrap_run)(wrapped)
    return wrapped


def idempotency_records_purge(*, now=None):
    """Delete records older than 24 hours. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - TTL
    deleted, _details = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted
