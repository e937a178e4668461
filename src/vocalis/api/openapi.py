"""The OpenAPI document as a client needs it: the errors each route can really answer, in the
body they really have, and the limits this server is configured with.

FastAPI declares only a 422 with its own validation body, which Vocalis never sends. Here each
operation's errors are read off what FastAPI generated for it: a key → 401/403/429/503, a JSON
body → 400/413/415/422, parameters → 422, a path parameter → 404; `ROUTE_ERRORS` adds the few
that only one route has. The OpenAI-compatible routes answer in OpenAI's error shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from vocalis.accounts.deps import KEY_SCHEMES
from vocalis.api.errors import ErrorBody
from vocalis.config import Settings
from vocalis.kit.schemas import SETTING_LIMITS
from vocalis.synthesis.openai import OPENAI_SHAPE

COMPONENTS = "#/components/schemas/{model}"
# Routes that answer errors in OpenAI's shape carry this in their operation (`openapi_extra`).
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

DESCRIPTIONS = {
    400: "The body cannot be parsed (`invalid_json`)",
    401: "No usable API key: `missing_api_key`, `invalid_api_key`, `revoked_api_key`, "
    "`expired_api_key`, `account_suspended`",
    403: "The key may not do this: `insufficient_scope`, `voice_not_allowed`, `ip_not_allowed`",
    404: "No such object, or another account's: `not_found`, `account_not_found`, "
    "`key_not_found`, `job_not_found`",
    413: "The body is over the size limit (`payload_too_large`)",
    415: "The body was not sent as `Content-Type: application/json` (`unsupported_media_type`)",
    422: "A value cannot be used; `code` says which rule (`validation_error`, `unknown_field`, "
    "`empty_text`, `unknown_voice`, ...)",
    429: "Too many requests or over quota: `rate_limited`, `quota_exceeded`, `too_many_jobs`",
    503: "Try again after `Retry-After` seconds: `database_unavailable`, `engine_not_ready`, "
    "`timed_out`, `queue_full`, `shutting_down`",
}
# Routes authenticated by the web session cookie answer these instead of the key errors.
SESSION_DESCRIPTIONS = {
    401: "Not logged in: `not_logged_in`, `session_expired`",
    403: "Refused: `csrf_failed` (X-CSRF-Token missing or wrong, or another site's Origin), "
    "`account_suspended`, `email_not_verified`, `scope_not_allowed`, `wrong_password`",
    503: DESCRIPTIONS[503],
}
SESSION_SCHEME = "APIKeyCookie"
OPENAI_DESCRIPTIONS = {
    400: "Invalid request, in OpenAI's error shape (validation errors are 400s, as at OpenAI)",
    500: "Synthesis failed (`synthesis_failed`); nothing is charged",
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}

BILLING_DISABLED = "Billing is not enabled on this server: no Stripe key (`billing_disabled`)"
# Errors that only one route can answer: (method, path) → {status: description}.
ROUTE_ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("POST", "/v1/tts"): {500: "Synthesis failed (`synthesis_failed`); nothing is charged"},
    ("POST", "/v1/tts/stream"): {500: "Synthesis failed before any audio (`synthesis_failed`)"},
    ("POST", "/v1/audio/speech"): {500: OPENAI_DESCRIPTIONS[500]},
    ("POST", "/v1/tts/jobs"): {409: "A request with this Idempotency-Key is still running"},
    ("POST", "/v1/tts/batch"): {409: "A request with this Idempotency-Key is still running"},
    ("POST", "/v1/tts/jobs/{job_id}/cancel"): {409: "The job has already finished"},
    ("GET", "/v1/tts/jobs/{job_id}/audio"): {
        409: "The job has not succeeded (`job_not_ready`)",
        410: "The audio was deleted after the retention period (`audio_expired`)",
    },
    ("POST", "/admin/api/accounts"): {409: "An account with this email exists"},
    ("POST", "/auth/signup"): {403: "`signup_closed`, or another site's Origin (`csrf_failed`)"},
    ("POST", "/auth/login"): {
        401: "Wrong address or password (`invalid_credentials`), the same for both",
        403: "`account_suspended`, or another site's Origin (`csrf_failed`)",
        429: "Too many failed logins for the address or from this client "
        "(`too_many_login_attempts`)",
    },
    ("POST", "/auth/password/forgot"): {403: "Another site's Origin (`csrf_failed`)"},
    ("POST", "/auth/password/reset"): {403: "Another site's Origin (`csrf_failed`)"},
    ("POST", "/auth/email/confirm"): {409: "The address now has another account (`email_taken`)"},
    ("POST", "/admin/api/keys"): {404: "No such account (`account_not_found`)"},
    ("POST", "/billing/checkout"): {
        404: BILLING_DISABLED,
        502: "Stripe could not be reached (`stripe_unavailable`); nothing changed",
        503: "The plan's price is not in Stripe yet (`plan_not_in_stripe`: run `vocalis billing "
        "sync`)",
    },
    ("POST", "/billing/portal"): {
        404: f"{BILLING_DISABLED}, or no billing history yet (`no_billing_account`)",
        502: "Stripe could not be reached (`stripe_unavailable`)",
    },
    ("POST", "/webhooks/stripe"): {
        400: "Bad or missing Stripe-Signature, a timestamp over 5 minutes old "
        "(`invalid_signature`), or not an event (`invalid_payload`); nothing is stored",
        404: BILLING_DISABLED,
    },
}


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    """OpenAI's error body, as /v1/audio/speech and /v1/models answer."""

    error: OpenAIErrorDetail


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Make `app.openapi()` complete each document FastAPI generates (it caches them)."""
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def completed_openapi() -> dict[str, Any]:
        schema = generate()
        if not any(schema is done for done in completed):
            declare_key_schemes(app, schema)
            declare_errors(schema)
            apply_setting_limits(schema, settings)
            completed[:] = [schema]
        return schema

    app.openapi = completed_openapi  # type: ignore[method-assign]


def declare_key_schemes(app: FastAPI, schema: dict[str, Any]) -> None:
    """List the API-key schemes on each operation whose dependencies read a key (marked
    `takes_a_key`), as FastAPI would for security dependencies."""
    names = [scheme.scheme_name for scheme in KEY_SCHEMES]
    used = False
    for route in _api_routes(app):
        if not (route.include_in_schema and _takes_a_key(route.dependant)):
            continue
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            security: list[dict[str, list[str]]] = operation.setdefault("security", [])
            present = {name for requirement in security for name in requirement}
            security += [{name: []} for name in names if name not in present]
            used = True
    if used:
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in KEY_SCHEMES:
            schemes.setdefault(
                scheme.scheme_name,
                scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True),
            )


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route as the OpenAPI document sees it: included routers' routes under their
    full paths (FastAPI keeps an included router as a unit)."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _takes_a_key(dependant: Dependant) -> bool:
    if getattr(dependant.call, "takes_a_key", False):
        return True
    return any(_takes_a_key(sub) for sub in dependant.dependencies)


def declare_errors(schema: dict[str, Any]) -> None:
    for model in (ErrorBody, OpenAIError):
        _add_component(schema, model)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            openai_shape = operation.pop(OPENAI_SHAPE, False)  # set by the route's class
            _declare_operation_errors(operation, method.upper(), path, openai_shape=openai_shape)
    _drop_unused(schema, FASTAPI_VALIDATION_SCHEMAS)


def _declare_operation_errors(
    operation: dict[str, Any], method: str, path: str, *, openai_shape: bool
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's HTTPValidationError: never sent
    parameters = operation.get("parameters", [])
    json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
    statuses: dict[int, str] = {}
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    if SESSION_SCHEME in schemes and len(schemes) > 1:  # a key, or an operator's login
        statuses |= {status: DESCRIPTIONS[status] for status in (401, 403, 429, 503)}
        statuses[403] += "; with the session: `insufficient_scope`, `csrf_failed`"
    elif SESSION_SCHEME in schemes:
        statuses |= SESSION_DESCRIPTIONS
    elif schemes:
        statuses |= {status: DESCRIPTIONS[status] for status in (401, 403, 429, 503)}
    if method in ("POST", "PUT", "PATCH"):
        statuses[413] = DESCRIPTIONS[413]
    if "requestBody" in operation:
        statuses |= {400: DESCRIPTIONS[400], 422: DESCRIPTIONS[422]}
    if json_body:
        statuses[415] = DESCRIPTIONS[415]
    if parameters:
        statuses[422] = DESCRIPTIONS[422]
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses[404] = DESCRIPTIONS[404]
    statuses |= ROUTE_ERRORS.get((method, path), {})
    if openai_shape and statuses.keys() & {400, 415, 422}:  # OpenAIErrorsRoute: all are 400s
        statuses = {s: d for s, d in statuses.items() if s not in (415, 422)}
        statuses[400] = OPENAI_DESCRIPTIONS[400]
    declared = {int(status): answer["description"] for status, answer in responses.items()
                if status.isdigit() and int(status) >= 400}  # fmt: skip
    for status, description in sorted((declared | statuses).items()):
        response = responses.setdefault(str(status), {"description": description})
        body = {"application/json": {"schema": _body(status, openai_shape)}}
        response.setdefault("content", body)
        if status in (429, 503):
            response.setdefault("headers", RETRY_AFTER)


def _body(status: int, openai_shape: bool) -> dict[str, Any]:
    """The error body's schema. On OpenAI routes, errors raised outside the route's own code
    keep Vocalis's shape: a body over the limit (413), one that is not even text (400), and a
    database outage (503)."""
    vocalis = {"$ref": COMPONENTS.format(model=ErrorBody.__name__)}
    if not openai_shape or status == 413:
        return vocalis
    shaped = {"$ref": COMPONENTS.format(model=OpenAIError.__name__)}
    return {"anyOf": [shaped, vocalis]} if status in (400, 503) else shaped


def apply_setting_limits(schema: dict[str, Any], settings: Settings) -> None:
    """Replace each `limited_by(...)` marker with the configured values, e.g. maxLength: 5000."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for keyword, setting in node.pop(SETTING_LIMITS, {}).items():
                node[keyword] = getattr(settings, setting)
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit(schema.get("components", {}))


def _add_component(schema: dict[str, Any], model: type[BaseModel]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    definition = model.model_json_schema(ref_template=COMPONENTS)
    components.update(definition.pop("$defs", {}))
    components[model.__name__] = definition


def _drop_unused(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Remove the named components nothing refers to (in order: a later one may have been used
    only by an earlier one)."""
    components = schema.get("components", {}).get("schemas", {})
    for name in names:
        if json.dumps(COMPONENTS.format(model=name)) not in json.dumps(schema):
            components.pop(name, None)
