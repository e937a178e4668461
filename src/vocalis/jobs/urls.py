"""Webhook targets must be public http(s) endpoints: no SSRF into the server's own network.

A URL is checked when a job is submitted and again before every delivery (DNS answers change),
and the delivery then connects to the very address that was checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from vocalis.kit.errors import InvalidInput

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeWebhookUrl(InvalidInput):
    code = "invalid_webhook_url"


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to (raises OSError when it does not resolve)."""
        ...


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return sorted({info[4][0] for info in infos})


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address the delivery connects to


async def check_webhook_url(url: str, resolver: Resolver, *, allow_private: bool) -> WebhookTarget:
    """Parse, resolve and vet `url`; raises UnsafeWebhookUrl saying why it is refused."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookUrl(f"webhook_url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhookUrl(f"webhook_url is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeWebhookUrl("webhook_url must be an http:// or https:// URL")
    host = parts.hostname
    if not host:
        raise UnsafeWebhookUrl("webhook_url has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [
                ipaddress.ip_address(a.split("%")[0]) for a in await resolver.resolve(host, port)
            ]
        except (OSError, ValueError) as exc:
            raise UnsafeWebhookUrl(f"webhook_url host '{host}' does not resolve") from exc
    if not addresses:
        raise UnsafeWebhookUrl(f"webhook_url host '{host}' does not resolve")
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason:
            raise UnsafeWebhookUrl(
                f"webhook_url points to {reason} address {address}, which is not allowed"
            )
    return WebhookTarget(url, scheme, host, port, str(addresses[0]))


def refusal(address: Address, *, allow_private: bool) -> str | None:
    """Why deliveries to `address` are refused, or None when they are allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local:
        return "a link-local"  # cloud metadata lives here: never, whatever the setting
    if address.is_unspecified or address.is_multicast:
        return "a reserved"
    if address.is_global:
        return None
    if allow_private and (address.is_loopback or address.is_private):
        return None
    return "a loopback" if address.is_loopback else "a private or non-public"
