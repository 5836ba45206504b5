"""The partnerwell API, version 1, at /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, django_auth

from partnerwell.api.core import router as core_router
from partnerwell.api.models import AccessToken


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = AccessToken.authenticate(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="partnerwell API",
    version="1",
    description=(
        "Read and change partnerships, organisations and members. Authenticate with a "
        "personal access token from your account page: `Authorization: Bearer pw_…`. "
        "Every error is JSON with a `message` saying what to fix."
    ),
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/", core_router)


def _field_name(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "request"


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_name(list(e.get("loc", []))), "message": str(e.get("msg", "is not valid"))}
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


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"message": str(exc)}, status=exc.status_code)
