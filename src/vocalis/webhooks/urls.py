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
THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


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
    """Why deliveries to `address` are refused, or None when they are allowed.

    An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) reaches
    that IPv4 host through a translator, so the carried address is judged as well.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_LOCAL_USE:  # where the IPv4 sits depends on the operator's prefix
            return "a private or non-public"
        for inner in embedded_ipv4(address):
            reason = refusal(inner, allow_private=allow_private)
            if reason:
                return f"{reason} address {inner} embedded in the IPv6"
        if address.ipv4_mapped is not None or _is_ipv4_compatible(address):
            return None  # only a wrapper around the address judged above
    if address.is_link_local:
        return "a link-local"  # cloud metadata lives here: never, whatever the setting
    if address.is_unspecified or address.is_multicast or address in THIS_NETWORK:
        return "a reserved"
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    if address.is_global and not site_local:  # site-local is deprecated private space
        return None
    if allow_private and (address.is_loopback or address.is_private or site_local):
        return None
    return "a loopback" if address.is_loopback else "a private or non-public"


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, for the transition forms that route to them."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # (server, client); the client is already de-obfuscated
    if address in NAT64_WELL_KNOWN or _is_ipv4_compatible(address):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _is_ipv4_compatible(address: ipaddress.IPv6Address) -> bool:
    """`::a.b.c.d` (deprecated, still routed by some stacks); `::` and `::1` are not IPv4."""
    return address in IPV4_COMPATIBLE and int(address) > 1


def destination_of(url: str) -> str:
    """`scheme://host:port`: one receiver's server, however many paths it takes hooks on."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    port = port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"
