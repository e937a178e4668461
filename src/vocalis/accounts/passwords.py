"""Passwords: what we accept, and bcrypt hashing off the event loop.

bcrypt reads only the first 72 bytes of its input (bcrypt 5 raises past them; older versions
silently ignored the rest, so two passwords sharing 72 bytes were the same password). We refuse
longer passwords, saying so, rather than pre-hash them (e.g. bcrypt over base64(SHA-256(pw))):

- stored hashes stay plain `$2b$` bcrypt, checkable by any bcrypt library and any later
  migration, instead of a private format that must be reproduced exactly forever;
- a pre-hash by an unsalted fast hash opens "password shucking": unsalted SHA-256 hashes leaked
  from other sites could be tested against ours by one bcrypt each, not a cracking run;
- 72 bytes is room enough: 72 ASCII characters or 24 three-byte ones (CJK), a passphrase of many
  words. A clear refusal at sign-up beats a login that surprises later.

Lengths: at least `MIN_LENGTH` characters (what a person counts), at most `MAX_BYTES` bytes of
UTF-8 (what bcrypt counts). Text is encoded with "surrogatepass" so that odd input (a lone
surrogate from JSON) hashes consistently instead of failing with a 500.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import threading
from importlib import resources

import bcrypt

from vocalis.kit.errors import InvalidInput

MIN_LENGTH = 10
MAX_BYTES = 72
DEFAULT_COST = 12  # the dummy hash's cost: the default of `Settings.bcrypt_cost`


class WeakPassword(InvalidInput):
    """A password we will not store; `code` says which rule it broke."""

    code = "weak_password"


def check_strength(password: str, *, email: str | None = None) -> None:
    """Refuse (WeakPassword) a password that is too short, too long for bcrypt, among the most
    common ones (case-insensitively), or the account's own address or its local part."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"the password must be at least {MIN_LENGTH} characters long",
            code="password_too_short",
        )
    _check_length(password)
    folded = password.casefold()
    if folded in _common_passwords():
        raise WeakPassword(
            "this password is among the most commonly used ones; choose another",
            code="password_too_common",
        )
    if email:
        address = email.strip().casefold()
        if folded in {address, address.partition("@")[0]}:
            raise WeakPassword(
                "the password must not be your email address", code="password_too_common"
            )


async def hash_password(password: str, cost: int) -> str:
    """A `$2b$` bcrypt hash at work factor `cost`, computed in a thread (it takes ~0.25 s at 12)."""
    _check_length(password)
    encoded = _encode(password)
    digest = await asyncio.to_thread(bcrypt.hashpw, encoded, bcrypt.gensalt(cost))
    return digest.decode("ascii")


async def verify_password(
    password: str, password_hash: str | None, *, cost: int = DEFAULT_COST
) -> bool:
    """Whether `password` matches `password_hash`, checked in a thread.

    With no hash (an unknown address, or an account without a password) a dummy hash is checked
    all the same and False returned: a login takes as long whether or not the address exists, so
    timing does not tell which addresses have accounts. An over-long password (which no stored
    hash can match) or an unreadable stored hash is simply False. `cost` is the work factor of
    the dummy check: the one real hashes are made with."""
    encoded = _encode(password)
    if len(encoded) > MAX_BYTES:
        return False
    if password_hash is None:
        await asyncio.to_thread(_check_against_dummy, encoded, cost)
        return False
    return await asyncio.to_thread(_check, encoded, password_hash.encode())


def _check_length(password: str) -> None:
    if len(_encode(password)) > MAX_BYTES:
        raise WeakPassword(
            f"the password must be at most {MAX_BYTES} bytes (UTF-8); characters outside ASCII "
            "take 2 to 4 bytes each",
            code="password_too_long",
        )


def _encode(password: str) -> bytes:
    return password.encode("utf-8", "surrogatepass")


def _check(encoded: bytes, stored: bytes) -> bool:
    try:
        return bcrypt.checkpw(encoded, stored)
    except ValueError:  # not a bcrypt hash: matches nothing
        return False


_dummy_hashes: dict[int, bytes] = {}  # by work factor
_dummy_lock = threading.Lock()


def _check_against_dummy(encoded: bytes, cost: int) -> None:
    """One bcrypt check like a real one; the dummy hash is made once per work factor, on first
    need (making it at import would cost every process a quarter second it may never need)."""
    with _dummy_lock:
        if cost not in _dummy_hashes:
            _dummy_hashes[cost] = bcrypt.hashpw(
                secrets.token_urlsafe(32).encode(), bcrypt.gensalt(cost)
            )
    _check(encoded, _dummy_hashes[cost])


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The list, read once (a few kilobytes of package data)."""
    text = resources.files("vocalis.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
