"""The bounded LRU map behind the cache's memory and the recently prepared texts."""

from vocalis.kit.lru import LRU


def test_the_least_recently_used_go_first_within_the_weight() -> None:
    lru: LRU[str, bytes] = LRU(10, len)
    lru.put("a", b"1234")
    lru.put("b", b"1234")
    assert lru.get("a") == b"1234"  # now the most recent
    lru.put("c", b"1234")  # 12 > 10: "b" goes
    assert lru.get("b") is None
    assert (lru.get("a"), lru.get("c")) == (b"1234", b"1234")
    assert lru.weight == 8 and len(lru) == 2


def test_an_entry_heavier_than_the_whole_budget_is_not_kept() -> None:
    lru: LRU[str, bytes] = LRU(4, len)
    lru.put("small", b"12")
    lru.put("big", b"12345")
    assert lru.get("big") is None and lru.get("small") == b"12"


def test_replacing_and_removing_keep_the_weight_exact() -> None:
    lru: LRU[str, bytes] = LRU(100, len)
    lru.put("a", b"123")
    lru.put("a", b"12345")
    assert lru.weight == 5
    lru.pop("a")
    lru.pop("missing")
    assert lru.weight == 0 and lru.get("a") is None
