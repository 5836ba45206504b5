"""The partnerwell API, version 1, at /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from partnerwell.api.actions import router as actions_router
from partnerwell.api.core import router as core_router
from partnerwell.api.healthcheck import router as healthcheck_router
from partnerwell.api.healthcheck import token_router
from partnerwell.api.meetings import router as meetings_router
from partnerwell.api.models import AccessToken
from partnerwell.api.outcomes import router as outcomes_router
from partnerwell.api.priorities import router as priorities_router
from partnerwell.api.risks import router as risks_router
from partnerwell.healthcheck.services import TooManyAttemptsError
from partnerwell.worker import caused_by_database

logger = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = AccessToken.authenticate(token)
        if user is not None:
            request.user = user
        return user


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


class JSONObjectParser(Parser):
    """A body must be one JSON object: a list, a bare value or NaN is refused with a 400.

    Otherwise a body such as [] reached the schemas and was answered with a
    "Field required" for every field, which hides the real mistake.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = json.loads(request.body, parse_constant=_not_json)
        if not isinstance(data, dict):
            raise ValueError("The request body is not a JSON object.")
        return data


class SignedInSessionAuth(SessionAuth):
    """The signed-in person's session, with its CSRF check.

    Ninja checks CSRF before it looks at the session, so a program that sent no
    valid token was told "CSRF check failed"; checking only signed-in sessions
    lets it hear the 401 that says to send a token.
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)


def _json_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give ninja's plain-text 405 a JSON body with a message, like every other error."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        allowed = ", ".join(sorted(response.get("Allow", "").split(", ")))
        json_response = JsonResponse(
            {"message": f"{request.method} is not allowed here; use {allowed}."}, status=405
        )
        json_response["Allow"] = allowed
        return json_response

    return wrapper


def _no_such_endpoint(request: HttpRequest) -> HttpResponse:
    message = f"There is no API endpoint at {request.path}; the list is at /api/v1/docs."
    return JsonResponse({"message": message}, status=404)


class PartnerwellAPI(NinjaAPI):
    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        wrapped: list[URLResolver | URLPattern] = [
            URLPattern(p.pattern, _json_not_allowed(p.callback), p.default_args, p.name)
            if isinstance(p, URLPattern)
            else p
            for p in patterns
        ]
        # Last, so unknown paths under /api/v1/ answer JSON rather than the HTML 404 page.
        wrapped.append(re_path(r"", _no_such_endpoint, name="api-not-found"))
        return wrapped, app_name, namespace


api = PartnerwellAPI(
    title="partnerwell API",
    version="1",
    description=(
        "Read and change partnerships, organisations and members. Authenticate with a "
        "personal access token from your account page: `Authorization: Bearer pw_…`. "
        "Every error is JSON with a `message` saying what to fix."
    ),
    auth=[TokenAuth(), SignedInSessionAuth()],
    parser=JSONObjectParser(),
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/", core_router)
api.add_router("/", healthcheck_router)
api.add_router("/", token_router)
api.add_router("/", priorities_router)
api.add_router("/", outcomes_router)
api.add_router("/", actions_router)
api.add_router("/", risks_router)
api.add_router("/", meetings_router)


def _field_name(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "request"


def _plain(message: object) -> str:
    # Pydantic starts the messages of our own validators with "Value error, ".
    return str(message or "is not valid").removeprefix("Value error, ")


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_name(list(e.get("loc", []))), "message": _plain(e.get("msg"))}
        for e in exc.errors
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return api.create_response(
        request, {"message": f"The request has errors: {summary}", "errors": errors}, status=422
    )


@api.exception_handler(DjangoValidationError)
def _model_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": "request", "message": m} for m in exc.messages]
    summary = "; ".join(e["message"] for e in errors)
    return api.create_response(
        request, {"message": f"The request has errors: {summary}", "errors": errors}, status=422
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    message = str(exc) or "Not found."
    return api.create_response(request, {"message": message}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or "You may not do that."
    return api.create_response(request, {"message": message}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = (
        "Send a valid personal access token in the Authorization header "
        "(Authorization: Bearer pw_…). Create one on your API tokens page."
    )
    return api.create_response(request, {"message": message}, status=401)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    message = f"The request is too large: send at most {megabytes} MB at a time."
    return api.create_response(request, {"message": message}, status=413)


# Ninja's own wording for some errors, replaced by sentences that say what to do.
_NINJA_MESSAGES = {
    "Cannot parse request body": (
        "The request body is not a valid JSON object. Send one JSON object, encoded as "
        "UTF-8, with Content-Type: application/json."
    ),
    "CSRF check Failed": (
        "The CSRF check failed. Send the csrftoken cookie's value in an X-CSRFToken header, "
        "or use a personal access token instead of signing in."
    ),
}


@api.exception_handler(TooManyAttemptsError)
def _too_many(request: HttpRequest, exc: TooManyAttemptsError) -> HttpResponse:
    message = "Too many wrong tokens from your address. Wait 15 minutes and try again."
    return api.create_response(request, {"message": message}, status=429)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    for start, better in _NINJA_MESSAGES.items():
        if message.startswith(start):
            message = better
    return api.create_response(request, {"message": message}, status=exc.status_code)


# Last resort: whatever else went wrong still answers the documented JSON, never the HTML page.
@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if caused_by_database(exc):
        logger.error(
            "API %s %s: the database is not reachable", request.method, request.path, exc_info=exc
        )
        message = "The database is not reachable just now; try again in a minute."
        response = api.create_response(request, {"message": message}, status=503)
        response["Retry-After"] = "60"
        return response
    logger.error("API %s %s failed", request.method, request.path, exc_info=exc)
    message = (
        "Something went wrong on the server. Try again in a minute; "
        "if it keeps happening, tell your administrator."
    )
    return api.create_response(request, {"message": message}, status=500)
