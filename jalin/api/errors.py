"""Every API error is an RFC 9457 problem document (`application/problem+json`).

    {"type": "urn:jalin:problem:validation_error", "title": "Invalid request",
     "status": 422, "detail": "...", "instance": "/api/v1/invitations",
     "code": "validation_error", "request_id": "...",
     "errors": [{"field": "email", "loc": ["body", "email"], "message": "...", "code": "..."}]}

`code` is the stable, machine-readable part; `title` and `detail` are for people. Problems
that only restate the HTTP status use `type: "about:blank"` as the RFC suggests.
"""

import json
import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from jalin.accounts.services import LockedOut, TokenError
from jalin.tenancy.services import StaleVersion, TenancyError

logger = logging.getLogger("jalin.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Codes whose problem type is just the HTTP status (RFC 9457 "about:blank").
_PLAIN_CODES = {
    "bad_request", "not_authenticated", "forbidden", "not_found", "method_not_allowed",
    "payload_too_large", "server_error",
}


class ProblemError(Exception):
    """Raise anywhere in the API to answer with a problem document."""

    def __init__(self, status, *, code, detail="", title=None, errors=None, headers=None):
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title
        self.errors = errors
        self.headers = headers or {}


def problem_response(request, status, *, code, detail="", title=None, errors=None,
                     headers=None):
    body = {
        "type": "about:blank" if code in _PLAIN_CODES else f"urn:jalin:problem:{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": str(detail or ""),
        "instance": request.path if request is not None else None,
        "code": code,
        "request_id": getattr(request, "request_id", ""),
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_error(field, message, code):
    loc = [] if field is None else [field]
    return {"field": field, "loc": loc, "message": str(message), "code": code}


def validation_errors_from_ninja(errors):
    """Turn ninja/pydantic error dicts into `{field, loc, message, code}` items.

    ninja's loc starts with the source ("body", "query", "path", "header"); `field` is the
    dotted path inside that source, which is what a client maps onto its form.
    """
    items = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join(loc[1:]) or None
        items.append({
            "field": field,
            "loc": loc,
            "message": error.get("msg", ""),
            "code": error.get("type", "invalid"),
        })
    return items


def _on_problem(request, exc):
    return problem_response(request, exc.status, code=exc.code, detail=exc.detail,
                            title=exc.title, errors=exc.errors, headers=exc.headers)


def _on_validation(request, exc):
    return problem_response(
        request, 422, code="validation_error", title=_("Invalid request"),
        detail=_("The request has invalid or missing fields."),
        errors=validation_errors_from_ninja(exc.errors),
    )


def _on_http_error(request, exc):
    status = exc.status_code
    if isinstance(exc, AuthenticationError):
        return not_authenticated(request, str(exc) if str(exc) != "Unauthorized" else "")
    if isinstance(exc, Throttled):
        return problem_response(request, 429, code="throttled", detail=_("Too many requests."))
    message = str(exc)
    if status == 400 and message.startswith("Cannot parse request body"):
        return problem_response(request, 400, code="malformed_json", title=_("Malformed JSON"),
                                detail=_("The request body is not valid JSON."))
    if status == 403 and "CSRF" in message:
        return problem_response(
            request, 403, code="csrf_failed", title=_("CSRF check failed"),
            detail=_("Send the X-CSRFToken header with session authentication, or use a token."),
        )
    code = {400: "bad_request", 403: "forbidden", 404: "not_found"}.get(status, "error")
    return problem_response(request, status, code=code, detail=message)


def not_authenticated(request, detail=""):
    return problem_response(
        request, 401, code="not_authenticated",
        detail=detail or _("Send 'Authorization: Bearer <token>' or sign in."),
        headers={"WWW-Authenticate": 'Bearer realm="jalin"'},
    )


def _on_404(request, exc):
    return problem_response(request, 404, code="not_found", detail=_("Not found."))


def _on_permission_denied(request, exc):
    return problem_response(request, 403, code="permission_denied",
                            detail=str(exc) or _("You may not do this."))


def _on_tenancy_error(request, exc):
    if isinstance(exc, StaleVersion):
        return problem_response(request, 409, code=exc.code, title=_("Stale version"),
                                detail=exc.message)
    return problem_response(
        request, 422, code=exc.code, title=_("Request cannot be carried out"),
        detail=exc.message, errors=[field_error(exc.field, exc.message, exc.code)],
    )


def _on_token_error(request, exc):
    return problem_response(
        request, 422, code=exc.code, title=_("Request cannot be carried out"),
        detail=exc.message, errors=[field_error("name", exc.message, exc.code)],
    )


def _on_locked_out(request, exc):
    return problem_response(
        request, 429, code="locked_out", title=_("Locked out"), detail=str(exc),
        headers={"Retry-After": str(settings.JALIN_LOCKOUT_WINDOW_SECONDS)},
    )


def _on_django_validation(request, exc):
    errors = []
    if hasattr(exc, "error_dict"):
        for field, field_errors in exc.error_dict.items():
            for error in field_errors:
                message = " ".join(error.messages)
                errors.append(field_error(None if field == "__all__" else field, message,
                                          error.code or "invalid"))
    else:
        for error in exc.error_list:
            errors.append(field_error(None, " ".join(error.messages), error.code or "invalid"))
    return problem_response(request, 422, code="validation_error", title=_("Invalid request"),
                            detail=_("The request has invalid fields."), errors=errors)


def _on_too_big(request, exc):
    return problem_response(
        request, 413, code="payload_too_large",
        detail=_("The request body is larger than %(limit)d bytes.")
        % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )


def _on_suspicious(request, exc):
    return problem_response(request, 400, code="bad_request", detail=_("Bad request."))


def _on_integrity_error(request, exc):
    # A uniqueness race lost to a concurrent request: the client may retry.
    logger.warning("Integrity error answered as 409: %s", exc)
    return problem_response(request, 409, code="conflict",
                            detail=_("The request conflicts with the current state."))


def _on_unexpected(request, exc):
    logger.exception("Unhandled API error", exc_info=exc)
    return problem_response(request, 500, code="server_error",
                            detail=_("Something went wrong on our side."))


def install_problem_handlers(api):
    """Register the handlers; ninja picks the most specific class in the exception's MRO."""
    api.add_exception_handler(Exception, _on_unexpected)
    api.add_exception_handler(ProblemError, _on_problem)
    api.add_exception_handler(NinjaValidationError, _on_validation)
    api.add_exception_handler(HttpError, _on_http_error)
    api.add_exception_handler(Http404, _on_404)
    api.add_exception_handler(PermissionDenied, _on_permission_denied)
    api.add_exception_handler(TenancyError, _on_tenancy_error)
    api.add_exception_handler(TokenError, _on_token_error)
    api.add_exception_handler(LockedOut, _on_locked_out)
    api.add_exception_handler(DjangoValidationError, _on_django_validation)
    api.add_exception_handler(RequestDataTooBig, _on_too_big)
    api.add_exception_handler(SuspiciousOperation, _on_suspicious)
    api.add_exception_handler(IntegrityError, _on_integrity_error)
