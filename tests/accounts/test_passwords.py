"""Passwords: the rules a new one must meet, bcrypt hashes made and checked off the event loop,
and a login for an unknown address doing the same bcrypt work as one for a known address."""

from __future__ import annotations

import threading
from importlib import resources

import bcrypt
import pytest

from vocalis.accounts import passwords
from vocalis.accounts.passwords import (
    MAX_BYTES,
    MIN_LENGTH,
    WeakPassword,
    check_strength,
    hash_password,
    verify_password,
)

GOOD = "correct horse battery staple"


def _refusal(password: str, **kwargs: str) -> WeakPassword:
    with pytest.raises(WeakPassword) as refused:
        check_strength(password, **kwargs)
    assert refused.value.status_code == 422
    return refused.value


def test_a_long_uncommon_password_passes() -> None:
    check_strength(GOOD)
    check_strength(GOOD, email="someone@example.com")
    check_strength("a" * (MIN_LENGTH - 1) + "b")  # exactly the minimum
    check_strength("x" * MAX_BYTES)  # exactly bcrypt's limit
    check_strength("é" * (MAX_BYTES // 2))  # 36 characters, 72 bytes


def test_a_short_password_is_refused() -> None:
    refusal = _refusal("Tr0ub4dor")  # 9 characters
    assert refusal.code == "password_too_short"
    assert f"at least {MIN_LENGTH} characters" in refusal.detail


@pytest.mark.parametrize(
    "password",
    [
        "x" * (MAX_BYTES + 1),
        "€" * 30,  # 30 characters (passes the minimum) but 90 bytes of UTF-8
        "😀" * 19,  # 76 bytes
    ],
)
def test_a_password_bcrypt_could_not_read_whole_is_refused(password: str) -> None:
    refusal = _refusal(password)
    assert refusal.code == "password_too_long"
    assert "at most 72 bytes (UTF-8)" in refusal.detail


@pytest.mark.parametrize("password", ["password123", "Password123", "QWERTYUIOP", "1q2W3e4R5t"])
def test_a_common_password_is_refused_in_any_case(password: str) -> None:
    refusal = _refusal(password)
    assert refusal.code == "password_too_common"
    assert "commonly used" in refusal.detail


@pytest.mark.parametrize("password", ["maximilian.s@example.com", "MAXIMILIAN.S", "maximilian.s"])
def test_the_accounts_own_address_or_its_local_part_is_refused(password: str) -> None:
    refusal = _refusal(password, email="Maximilian.S@Example.com")
    assert refusal.code == "password_too_common"
    assert "email address" in refusal.detail


def test_the_common_list_is_package_data_of_long_lower_case_entries() -> None:
    """Shorter entries would be dead weight (the length rule refuses them first); the file is
    read through importlib.resources, so it must ship inside the package."""
    source = resources.files("vocalis.accounts").joinpath("common_passwords.txt")
    entries = [line for line in source.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert 200 <= len(entries) == len(set(entries))
    for entry in entries:
        assert entry == entry.strip().casefold()
        assert MIN_LENGTH <= len(entry) and len(entry.encode()) <= MAX_BYTES


async def test_a_hash_is_bcrypt_at_the_requested_cost_and_verifies() -> None:
    stored = await hash_password(GOOD, 4)
    assert stored.startswith("$2b$04$") and len(stored) == 60
    assert await verify_password(GOOD, stored)
    assert not await verify_password(GOOD.upper(), stored)
    assert not await verify_password(GOOD + " ", stored)
    assert await hash_password(GOOD, 4) != stored  # salted


async def test_bytes_past_72_are_never_silently_dropped() -> None:
    with pytest.raises(WeakPassword) as refused:
        await hash_password("€" * 30, 4)
    assert refused.value.code == "password_too_long"
    stored = await hash_password("x" * MAX_BYTES, 4)
    assert await verify_password("x" * MAX_BYTES, stored)
    assert await verify_password("x" * (MAX_BYTES + 1), stored) is False  # no exception


async def test_an_unreadable_stored_hash_matches_nothing() -> None:
    assert await verify_password(GOOD, "not-a-bcrypt-hash") is False


async def test_hashing_and_checking_run_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []
    real_hashpw, real_checkpw = bcrypt.hashpw, bcrypt.checkpw

    def hashpw(password: bytes, salt: bytes) -> bytes:
        threads.append(threading.get_ident())
        return real_hashpw(password, salt)

    def checkpw(password: bytes, hashed: bytes) -> bool:
        threads.append(threading.get_ident())
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "hashpw", hashpw)
    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    stored = await hash_password(GOOD, 4)
    await verify_password(GOOD, stored)
    await verify_password(GOOD, None)
    assert len(threads) >= 3
    assert threading.get_ident() not in threads


async def test_an_unknown_address_costs_a_real_bcrypt_check_at_the_default_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No password hash (unknown address, or none set) still runs bcrypt against a dummy hash
    made at cost 12 — what a real account's check costs — and is never a match."""
    checked: list[bytes] = []
    real_checkpw = bcrypt.checkpw

    def checkpw(password: bytes, hashed: bytes) -> bool:
        checked.append(hashed)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    assert await verify_password(GOOD, None) is False
    assert await verify_password("", None) is False
    assert len(checked) == 2
    assert checked[0] == checked[1]  # made once, kept
    assert checked[0].startswith(b"$2b$12$")
    assert passwords.DEFAULT_COST == 12
    # With another work factor configured, unknown addresses cost what known ones do.
    assert await verify_password(GOOD, None, cost=4) is False
    assert checked[-1].startswith(b"$2b$04$")
