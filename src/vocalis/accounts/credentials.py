"""API keys to callers, without a database read on every request.

A resolved key is kept in this process for a few seconds (`VOCALIS_KEY_CACHE_SECONDS`): the
hot path of a busy key is a hash and a dictionary lookup. Changes made through this process —
revoking a key, suspending an account, changing its plan or limits — drop the affected entries
at once; another process (a second API server, the CLI) sees them when its entries run out, within
those seconds. Unknown keys are never kept: a guess costs a query, and fills nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from vocalis.accounts.keys import hash_api_key, is_well_formed
from vocalis.accounts.service import (
    LAST_USED_RESOLUTION,
    KeyStanding,
    Principal,
    check_principal,
    find_principal,
    record_key_use,
)
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.errors import Unauthorized

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    standing: KeyStanding
    fresh_until: float  # time.monotonic()


class KeyResolver:
    def __init__(
        self, database: Database, clock: Clock, *, pepper: str, ttl_seconds: float = 5.0
    ) -> None:
        self._database = database
        self._clock = clock
        self._pepper = pepper
        self._ttl = ttl_seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    async def resolve(self, raw: str) -> Principal:
        """The caller a presented key stands for, or 401 saying why it is refused."""
        if not is_well_formed(raw):
            raise Unauthorized("malformed API key", code="invalid_api_key")
        digest = hash_api_key(raw, self._pepper)
        entry = self._entries.get(digest)
        if entry is None or entry.fresh_until <= time.monotonic():
            async with self._database.session() as session:
                standing = await find_principal(session, digest)
            entry = self._keep(digest, standing)
        return check_principal(entry.standing, self._clock.now())

    async def touch(self, principal: Principal) -> None:
        """Stamp the key's `last_used_at`, at most once a minute: one small write per key per
        minute, however busy the key is."""
        now = self._clock.now()
        if (
            principal.last_used_at is not None
            and now - principal.last_used_at < LAST_USED_RESOLUTION
        ):
            return
        async with self._database.session(write=True) as session:
            await record_key_use(session, principal.key_id, now=now)
        for digest, entry in self._entries.items():
            if (
                entry.standing.principal is not None
                and entry.standing.principal.key_id == principal.key_id
            ):
                used = replace(entry.standing.principal, last_used_at=now)
                self._entries[digest] = replace(
                    entry, standing=replace(entry.standing, principal=used)
                )
                break

    def forget(self, *, key_id: str | None = None, account_id: str | None = None) -> None:
        """Drop what this process keeps about a key or an account that just changed."""
        for digest, entry in list(self._entries.items()):
            principal = entry.standing.principal
            if principal is None:
                continue
            if principal.key_id == key_id or principal.account_id == account_id:
                del self._entries[digest]

    def _keep(self, digest: str, standing: KeyStanding) -> _Entry:
        entry = _Entry(standing, time.monotonic() + self._ttl)
        if standing.principal is None or self._ttl <= 0:
            self._entries.pop(digest, None)
            return entry
        self._entries[digest] = entry
        self._entries.move_to_end(digest)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return entry
