"""The API key format: random, checksummed, scanner-friendly, and stored only as a keyed hash."""

import re

from vocalis.accounts.keys import (
    KEY_PATTERN,
    display_prefix,
    generate_api_key,
    hash_api_key,
    is_well_formed,
)


def test_keys_are_random_checksummed_and_match_the_published_pattern() -> None:
    keys = {generate_api_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"sk_live_[0-9A-Za-z]{38}", key)
        assert KEY_PATTERN.search(f"leaked in a log: {key} oops").group(0) == key
        assert is_well_formed(key)


def test_a_single_mistyped_character_is_caught_by_the_checksum() -> None:
    key = generate_api_key()
    body_position = len("sk_live_") + 5
    replacement = "A" if key[body_position] != "A" else "B"
    typo = key[:body_position] + replacement + key[body_position + 1 :]
    assert not is_well_formed(typo)
    assert not is_well_formed(key[:-1])
    assert not is_well_formed(key + "x")
    assert not is_well_formed(key.replace("sk_live_", "sk_test_"))


def test_hash_depends_on_the_pepper_and_hides_the_key() -> None:
    key = generate_api_key()
    first, second = hash_api_key(key, "pepper-one"), hash_api_key(key, "pepper-two")
    assert first != second
    assert len(first) == 64 and key not in first
    assert hash_api_key(key, "pepper-one") == first
    assert display_prefix(key) == key[:12]
