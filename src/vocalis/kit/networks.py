"""Whether a client's address lies in configured networks (trusted proxies, the metrics and
admin allow-lists)."""

from __future__ import annotations

import ipaddress
from functools import cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LONGEST_ADDRESS = 45  # an IPv6 address with an embedded IPv4 one: nothing longer parses


@cache  # settings' lists: parsed once, not on every request
def networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def within(address: str | None, allowed: tuple[IPNetwork, ...]) -> bool:
    """Whether `address` is in one of `allowed`; an IPv4 client of a dual-stack socket
    (::ffff:192.0.2.1) counts as its IPv4 address. No address, or not one, is in none."""
    if address is None or len(address) > LONGEST_ADDRESS:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return any(ip in network or ip.ipv4_mapped in network for network in allowed)
    return any(ip in network for network in allowed)


def is_address(text: str) -> bool:
    if len(text) > LONGEST_ADDRESS:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
