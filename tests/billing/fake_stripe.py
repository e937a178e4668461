"""A real HTTP server standing in for the parts of Stripe's API that Vocalis calls, for the real
`stripe` SDK to talk to (its base addresses pointed here).

It decodes the SDK's form encoding (`line_items[0][price]=…`), checks the secret key, answers
with objects shaped as Stripe's, honours idempotency keys (the same key gets the first answer
again and creates nothing), and records what was created: customers, Checkout and portal
sessions, products, prices, the meter and meter events. Subscriptions are set by the test (as
if a customer had paid) with `subscribe`; `fail_next` makes the next calls to a path answer 500.
Webhook events are built with `event` and signed with Stripe's scheme by `signed`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from stripe import WebhookSignature

SECRET_KEY = "sk_test_" + "v" * 24  # not a real key: Stripe's look, for the SDK
WEBHOOK_SECRET = "whsec_" + "w" * 32


def decode_form(raw: str) -> dict[str, Any]:
    """Stripe's form encoding, nested: `a[b][0][c]=1` → {"a": {"b": [{"c": "1"}]}}"""
    root: dict[str, Any] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        head, *rest = re.findall(r"[^\[\]]+", name)
        path = [head, *rest]
        node: Any = root
        for part, after in itertools.pairwise(path):
            child = [] if after.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                node[index] = node[index] if node[index] is not None else child
                node = node[index]
            else:
                node = node.setdefault(part, child)
        last = path[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append(None)
            node[index] = value
        else:
            node[last] = value
    return root


@dataclass
class FakeStripe:
    secret_key: str = SECRET_KEY
    url: str = ""
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkout_sessions: list[dict[str, Any]] = field(default_factory=list)
    portal_sessions: list[dict[str, Any]] = field(default_factory=list)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    meters: dict[str, dict[str, Any]] = field(default_factory=dict)
    meter_events: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _faults: dict[str, int] = field(default_factory=dict)
    _idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def fail_next(self, path: str, count: int = 1) -> None:
        self._faults[path] = self._faults.get(path, 0) + count

    # --- what a test sets up --------------------------------------------------------------------

    def subscribe(
        self,
        customer: str,
        lookup_key: str,
        *,
        account_id: str,
        status: str = "active",
        period_start: int | None = None,
        period_days: int = 30,
        subscription_id: str | None = None,
    ) -> dict[str, Any]:
        """A subscription as Stripe keeps it once the customer has paid (or set its state)."""
        start = period_start or int(time.time())
        price = self.price_by_lookup_key(lookup_key) or {
            "id": self.new_id("price"),
            "lookup_key": lookup_key,
        }
        subscription = {
            "id": subscription_id or self.new_id("sub"),
            "object": "subscription",
            "customer": customer,
            "status": status,
            "created": start,
            "cancel_at_period_end": False,
            "metadata": {"account_id": account_id},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self.new_id("si"),
                        "object": "subscription_item",
                        "price": price,
                        "current_period_start": start,
                        "current_period_end": start + period_days * 86400,
                    }
                ],
            },
        }
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def price_by_lookup_key(self, lookup_key: str) -> dict[str, Any] | None:
        for price in self.prices.values():
            if price.get("lookup_key") == lookup_key and price["active"]:
                return price
        return None

    def add_price(
        self, lookup_key: str, unit_amount: int = 1200, *, metered: bool = False
    ) -> dict[str, Any]:
        price = {
            "id": self.new_id("price"),
            "object": "price",
            "active": True,
            "lookup_key": lookup_key,
            "product": lookup_key,
            "currency": "eur",
            "unit_amount": None if metered else unit_amount,
            "unit_amount_decimal": str(unit_amount),
            "recurring": {"interval": "month", "usage_type": "metered" if metered else "licensed"},
        }
        self.prices[price["id"]] = price
        return price

    # --- webhook events, as Stripe sends them ---------------------------------------------------

    def event(self, kind: str, obj: dict[str, Any], *, created: int | None = None) -> bytes:
        return json.dumps(
            {
                "id": self.new_id("evt"),
                "object": "event",
                "api_version": "2025-03-31.basil",
                "created": created or int(time.time()),
                "type": kind,
                "livemode": False,
                "pending_webhooks": 1,
                "data": {"object": obj},
            }
        ).encode()

    @staticmethod
    def signed(
        payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
    ) -> dict[str, str]:
        """The `Stripe-Signature` header Stripe would send with `payload` (`t=…,v1=…`)."""
        header = WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp)
        return {"Stripe-Signature": header, "Content-Type": "application/json"}

    # --- the HTTP side ----------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        params = decode_form(raw.decode() if method == "POST" else scope["query_string"].decode())
        self.calls.append((method, path))
        if headers.get("authorization") != f"Bearer {self.secret_key}":
            await _answer(send, 401, _error("Invalid API Key provided", "authentication_error"))
            return
        if self._faults.get(path):
            self._faults[path] -= 1
            await _answer(send, 500, _error("An unexpected error occurred", "api_error"))
            return
        key = headers.get("idempotency-key")
        if method == "POST" and key is not None and key in self._idempotent:
            await _answer(send, *self._idempotent[key])
            return
        status, body = self._handle(method, path, params)
        if method == "POST" and key is not None and status < 500:
            self._idempotent[key] = (status, body)
        await _answer(send, status, body)

    def _handle(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        route = (
            method,
            "/".join(
                p if not re.match(r"^(cus|sub|price|prod|vocalis|mtr)_", p) else "{id}"
                for p in parts
            ),
        )
        match route:
            case ("POST", "v1/customers"):
                customer = {
                    "id": self.new_id("cus"),
                    "object": "customer",
                    "email": params.get("email"),
                    "metadata": params.get("metadata", {}),
                }
                self.customers[customer["id"]] = customer
                return 200, customer
            case ("POST", "v1/checkout/sessions"):
                session_id = self.new_id("cs_test")
                session = {
                    "id": session_id,
                    "object": "checkout.session",
                    "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                    **params,
                }
                self.checkout_sessions.append(session)
                return 200, session
            case ("POST", "v1/billing_portal/sessions"):
                session_id = self.new_id("bps")
                session = {
                    "id": session_id,
                    "object": "billing_portal.session",
                    "url": f"https://billing.stripe.test/p/session/{session_id}",
                    **params,
                }
                self.portal_sessions.append(session)
                return 200, session
            case ("GET", "v1/subscriptions/{id}"):
                found = self.subscriptions.get(parts[-1])
                return (200, found) if found else _missing("subscription", parts[-1])
            case ("GET", "v1/prices"):
                keys = params.get("lookup_keys", [])
                active = params.get("active")
                data = [
                    p
                    for p in self.prices.values()
                    if (not keys or p.get("lookup_key") in keys)
                    and (active is None or str(p["active"]).lower() == active)
                ]
                return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/prices"}
            case ("POST", "v1/prices"):
                return 200, self._create_price(params)
            case ("POST", "v1/prices/{id}"):
                price = self.prices.get(parts[-1])
                if price is None:
                    return _missing("price", parts[-1])
                if "active" in params:
                    price["active"] = params["active"] == "true"
                return 200, price
            case ("GET", "v1/products/{id}"):
                found = self.products.get(parts[-1])
                return (200, found) if found else _missing("product", parts[-1])
            case ("POST", "v1/products"):
                product = {
                    "id": params.get("id") or self.new_id("prod"),
                    "object": "product",
                    "active": True,
                    "name": params["name"],
                    "metadata": params.get("metadata", {}),
                }
                self.products[product["id"]] = product
                return 200, product
            case ("POST", "v1/products/{id}"):
                product = self.products.get(parts[-1])
                if product is None:
                    return _missing("product", parts[-1])
                product.update(
                    {k: (v == "true" if k == "active" else v) for k, v in params.items()}
                )
                return 200, product
            case ("GET", "v1/billing/meters"):
                data = list(self.meters.values())
                return 200, {
                    "object": "list",
                    "data": data,
                    "has_more": False,
                    "url": "/v1/billing/meters",
                }
            case ("POST", "v1/billing/meters"):
                meter = {
                    "id": self.new_id("mtr"),
                    "object": "billing.meter",
                    "status": "active",
                    **params,
                }
                self.meters[meter["id"]] = meter
                return 200, meter
            case ("POST", "v1/billing/meter_events"):
                if any(e["identifier"] == params.get("identifier") for e in self.meter_events):
                    return 400, _error(
                        "An event already exists with identifier " + str(params.get("identifier")),
                        "invalid_request_error",
                    )
                event = {
                    "object": "billing.meter_event",
                    "created": int(time.time()),
                    "livemode": False,
                    **params,
                }
                self.meter_events.append(event)
                return 200, event
        return 404, _error(f"Unrecognized request URL ({method}: {path})", "invalid_request_error")

    def _create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        lookup_key = params.get("lookup_key")
        if lookup_key and params.get("transfer_lookup_key") == "true":
            for other in self.prices.values():
                if other.get("lookup_key") == lookup_key:
                    other["lookup_key"] = None
        recurring = params.get("recurring", {})
        price = {
            "id": self.new_id("price"),
            "object": "price",
            "active": True,
            "lookup_key": lookup_key,
            "product": params["product"],
            "currency": params["currency"],
            "nickname": params.get("nickname"),
            "unit_amount": int(params["unit_amount"]) if "unit_amount" in params else None,
            "unit_amount_decimal": params.get("unit_amount_decimal", params.get("unit_amount")),
            "recurring": {
                "interval": recurring.get("interval"),
                "usage_type": recurring.get("usage_type", "licensed"),
                "meter": recurring.get("meter"),
            },
            "metadata": params.get("metadata", {}),
        }
        self.prices[price["id"]] = price
        return price


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **({"code": code} if code else {})}}


def _missing(kind: str, object_id: str) -> tuple[int, dict[str, Any]]:
    return 404, _error(
        f"No such {kind}: '{object_id}'", "invalid_request_error", "resource_missing"
    )


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"request-id", b"req_fake")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
