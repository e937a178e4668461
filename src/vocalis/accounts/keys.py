"""API key format: `sk_live_` + 32 random base62 characters + a 6-character CRC32 checksum.

The checksum (as GitHub tokens carry) lets a mistyped or truncated key be refused before any
database lookup, and the fixed shape lets secret scanners find leaked keys with `KEY_PATTERN`.
Only an HMAC-SHA256 of the whole key under the server's pepper is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

KEY_PREFIX = "sk_live_"
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
DISPLAY_LENGTH = len(KEY_PREFIX) + 4
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_PATTERN = re.compile(r"\bsk_live_[0-9A-Za-z]{38}\b")


def generate_api_key() -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH))
    return f"{KEY_PREFIX}{body}{_checksum(body)}"


def is_well_formed(raw: str) -> bool:
    """Right prefix, length, alphabet and checksum; says nothing about whether the key exists."""
    if KEY_PATTERN.fullmatch(raw) is None:
        return False
    body = raw[len(KEY_PREFIX) : len(KEY_PREFIX) + BODY_LENGTH]
    return hmac.compare_digest(raw[-CHECKSUM_LENGTH:], _checksum(body))


def hash_api_key(raw: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), raw.encode(), hashlib.sha256).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[:DISPLAY_LENGTH]


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, remainder = divmod(value, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))
