"""Cache hits charged from a block of quota the process holds, instead of a transaction each.

A cache hit's cost is exact and known at once. So a serving process takes a block of an
account's quota ahead — reserved under the same conditional UPDATE as any charge, with a
`QuotaReservation` row whose lease the process renews — and charges hits from it in memory:
the hit is answered without waiting for the database. Each batch of the usage recorder moves
what was spent from reserved to used, in the transaction that writes those hits' usage events;
a block left idle, or of a period or limits no longer current, is given back whole, and so are
an account's blocks when a request of its would otherwise be refused for want of them.

Exactness: a block never exceeds what the account and the key had left, so hits never spend
beyond an allowance; a block is at most 1/`BLOCK_SHARE` of what remained, so near the limit
blocks shrink until the last characters are charged one hit at a time. What a block holds
unspent shows as reserved to others until it is given back (within `IDLE_SECONDS`). If the
process dies, its blocks' leases run out and a sweep gives back what was not settled yet: the
hits of the last batch (tens of milliseconds) go uncharged — a customer is never overcharged. A
process that stalled past its lease and finds its block swept drops the block at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, delete, update

from vocalis.usage.models import QuotaReservation
from vocalis.usage.periods import UNLIMITED, Allowance, Charge, Counters, settling

log = logging.getLogger(__name__)

CREDIT_PREFIX = "crd"  # the id prefix of a block's reservation row (new_id(CREDIT_PREFIX))
HITS_PER_BLOCK = 64  # a block covers this many hits like the one that asked for it…
BLOCK_SHARE = 8  # …but never more than this fraction of what remained
IDLE_SECONDS = 1.0  # a block unused this long is given back
RESERVATIONS = QuotaReservation.__table__


def is_credit_row(row_id: str) -> bool:
    """A reservation row that holds a block of credit, not a running request."""
    return row_id.startswith(CREDIT_PREFIX + "_")


@dataclass(frozen=True)
class Block:
    characters: int
    audio_ms: int


@dataclass
class Credit:
    """A block of one account's and key's quota in one period, under one allowance."""

    row_id: str
    account_id: str
    key_id: str
    period_start: datetime
    allowance: Allowance
    key_cap: int | None
    block: Block
    account: Counters  # both rows' counters just after the block was taken
    key: Counters
    spent_chars: int = 0
    spent_ms: int = 0
    settled_chars: int = 0  # of what was spent, what the database has moved to used
    settled_ms: int = 0
    last_used: float = field(default_factory=time.monotonic)
    closing: bool = False

    def covers(self, charge: Charge) -> bool:
        """Whether the block is of `charge`'s period and limits (its account and key known)."""
        return (
            self.period_start == charge.period.start
            and self.allowance == charge.allowance
            and self.key_cap == charge.key_cap
        )

    def spend(self, characters: int, audio_ms: int) -> tuple[Counters, Counters] | None:
        """Charge a hit from the block: both rows' counters as they stand for this process,
        or None when the block cannot cover it."""
        if self.closing:
            return None
        if (
            self.spent_chars + characters > self.block.characters
            or self.spent_ms + audio_ms > self.block.audio_ms
        ):
            return None
        self.spent_chars += characters
        self.spent_ms += audio_ms
        self.last_used = time.monotonic()
        return self.counters()

    def counters(self) -> tuple[Counters, Counters]:
        """The rows' counters with this block counted at what it spent, not what it holds."""
        unspent_chars = self.block.characters - self.spent_chars
        unspent_ms = self.block.audio_ms - self.spent_ms
        account = Counters(
            chars_used=self.account.characters - unspent_chars,
            audio_ms_used=self.account.audio_ms - unspent_ms,
        )
        key = Counters(chars_used=self.key.characters - unspent_chars)
        return account, key


@dataclass(frozen=True)
class Settlement:
    """What one batch writes for one block: spent characters and audio moved from reserved to
    used, and with `release`, the rest given back and the row deleted."""

    credit: Credit
    characters: int
    audio_ms: int
    release: bool


class HitCredits:
    """This process's blocks: one open per account and key (for the current period and limits;
    a block of others is closed at once, and given back in the next batch)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], Credit] = {}
        self._closing: list[Credit] = []
        self._taking: dict[tuple[object, ...], asyncio.Future[None]] = {}
        self._seen: dict[tuple[object, ...], tuple[Counters, Counters]] = {}

    @property
    def holding(self) -> bool:
        return bool(self._open or self._closing)

    def row_ids(self) -> list[str]:
        """The reservation rows whose leases this process must keep alive."""
        return [credit.row_id for credit in (*self._open.values(), *self._closing)]

    def holds(self, account_id: str) -> bool:
        """Whether a block of this account's quota is held here (and might be what a refusal
        lacked)."""
        return any(
            credit.account_id == account_id for credit in (*self._open.values(), *self._closing)
        )

    def unspent(self, account_id: str, key_id: str | None, period_start: datetime) -> Block:
        """What this process's blocks hold unspent of the account's period (of one key's, with
        `key_id`): reserved in the database, yet no one's use."""
        characters = audio_ms = 0
        for credit in (*self._open.values(), *self._closing):
            if credit.account_id != account_id or credit.period_start != period_start:
                continue
            if key_id is not None and credit.key_id != key_id:
                continue
            characters += credit.block.characters - credit.spent_chars
            audio_ms += credit.block.audio_ms - credit.spent_ms
        return Block(characters, audio_ms)

    def unspent_by_key(self) -> dict[str, int]:
        """Characters the open blocks hold unspent, by key."""
        return {
            key_id: credit.block.characters - credit.spent_chars
            for (_, key_id), credit in self._open.items()
        }

    def spend(self, charge: Charge) -> tuple[Counters, Counters] | None:
        credit = self._open.get((charge.account_id, charge.key_id))
        if credit is None or not credit.covers(charge):
            return None
        return credit.spend(charge.characters, charge.audio_ms)

    def being_taken(self, charge: Charge) -> asyncio.Future[None] | None:
        """The block another hit of the same group is taking right now, if any."""
        return self._taking.get(charge.group)

    def taking(self, charge: Charge) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._taking[charge.group] = future
        return future

    def taken(self, charge: Charge, future: asyncio.Future[None]) -> None:
        if self._taking.get(charge.group) is future:
            del self._taking[charge.group]
        if not future.done():
            future.set_result(None)

    def observe(self, charge: Charge, account: Counters, key: Counters) -> None:
        """Counters the database just returned for this group: what the next block is sized by."""
        if len(self._seen) > 10_000:  # one entry per account and key in use; bounded anyway
            self._seen.clear()
        self._seen[charge.group] = (account, key)

    def block_for(self, charge: Charge) -> Block | None:
        """The block to take for `charge`'s group, or None to charge it exactly (no figures
        seen yet, or too little left for a block to be worth more than the hit)."""
        seen = self._seen.get(charge.group)
        if seen is None:
            return None
        account, key = seen
        characters = charge.characters * HITS_PER_BLOCK
        audio_ms = charge.audio_ms * HITS_PER_BLOCK
        limits = charge.allowance
        if limits.characters < UNLIMITED:
            characters = min(characters, (limits.characters - account.characters) // BLOCK_SHARE)
        if charge.key_cap is not None:
            characters = min(characters, (charge.key_cap - key.characters) // BLOCK_SHARE)
        if limits.audio_ms < UNLIMITED:
            audio_ms = min(audio_ms, (limits.audio_ms - account.audio_ms) // BLOCK_SHARE)
        if characters < 2 * charge.characters or audio_ms < 2 * charge.audio_ms:
            return None
        return Block(characters, audio_ms)

    def open(
        self, charge: Charge, row_id: str, block: Block, account: Counters, key: Counters
    ) -> Credit:
        """A block just taken becomes the group's; the one it replaces is given back."""
        credit = Credit(
            row_id=row_id,
            account_id=charge.account_id,
            key_id=charge.key_id,
            period_start=charge.period.start,
            allowance=charge.allowance,
            key_cap=charge.key_cap,
            block=block,
            account=account,
            key=key,
        )
        self._close(self._open.pop((charge.account_id, charge.key_id), None))
        self._open[(charge.account_id, charge.key_id)] = credit
        self._seen[charge.group] = (account, key)
        return credit

    def close(self, account_id: str | None = None) -> None:
        """Stop spending from `account_id`'s blocks (every account's: None); the next batch
        gives them back."""
        for owner, credit in list(self._open.items()):
            if account_id is None or credit.account_id == account_id:
                del self._open[owner]
                self._close(credit)

    def adopt(self, charge: Charge, row_id: str, account: Counters, key: Counters) -> None:
        """A block taken for a hit that was cancelled meanwhile: held like any other (and
        given back when idle) unless the account and key have an open block already."""
        if (charge.account_id, charge.key_id) in self._open:
            self._close(
                Credit(
                    row_id=row_id,
                    account_id=charge.account_id,
                    key_id=charge.key_id,
                    period_start=charge.period.start,
                    allowance=charge.allowance,
                    key_cap=charge.key_cap,
                    block=Block(charge.characters, charge.audio_ms),
                    account=account,
                    key=key,
                )
            )
            return
        self.open(charge, row_id, Block(charge.characters, charge.audio_ms), account, key)

    def settlements(self) -> list[Settlement]:
        """What the next batch writes: every block's spending since the last batch, and the
        blocks to give back (closed ones, and those idle for `IDLE_SECONDS`)."""
        idle_since = time.monotonic() - IDLE_SECONDS
        for owner, credit in list(self._open.items()):
            if credit.last_used < idle_since:
                del self._open[owner]
                self._close(credit)
        settlements = [
            Settlement(
                credit,
                credit.spent_chars - credit.settled_chars,
                credit.spent_ms - credit.settled_ms,
                release=False,
            )
            for credit in self._open.values()
            if credit.spent_chars > credit.settled_chars or credit.spent_ms > credit.settled_ms
        ]
        settlements += [
            Settlement(
                credit,
                credit.spent_chars - credit.settled_chars,
                credit.spent_ms - credit.settled_ms,
                release=True,
            )
            for credit in self._closing
        ]
        return settlements

    def settled(self, settlements: list[Settlement], lost: list[str]) -> None:
        """The batch holding `settlements` committed; the blocks of `lost` rows had been swept
        (this process stalled past its lease), so nothing more may be spent from them."""
        for settlement in settlements:
            credit = settlement.credit
            credit.settled_chars += settlement.characters
            credit.settled_ms += settlement.audio_ms
            if (settlement.release or credit.row_id in lost) and credit in self._closing:
                self._closing.remove(credit)
        if lost:
            for owner, credit in list(self._open.items()):
                if credit.row_id in lost:
                    credit.closing = True
                    del self._open[owner]

    def _close(self, credit: Credit | None) -> None:
        if credit is not None:
            credit.closing = True
            self._closing.append(credit)


def write_settlements(connection: Connection, settlements: list[Settlement]) -> list[str]:
    """Apply a batch's settlements in its transaction; returns the rows found missing. A block
    whose row a sweep already gave back (this process stalled past its lease) is left alone:
    its spending is lost, its quota already returned whole."""
    lost = []
    for settlement in settlements:
        credit = settlement.credit
        if settlement.release:
            held = connection.execute(
                delete(RESERVATIONS)
                .where(RESERVATIONS.c.id == credit.row_id)
                .returning(RESERVATIONS.c.characters, RESERVATIONS.c.audio_ms)
            ).first()
            reserved_chars, reserved_ms = held if held is not None else (0, 0)
        else:
            held = connection.execute(
                update(RESERVATIONS)
                .where(RESERVATIONS.c.id == credit.row_id)
                .values(
                    characters=RESERVATIONS.c.characters - settlement.characters,
                    audio_ms=RESERVATIONS.c.audio_ms - settlement.audio_ms,
                )
                .returning(RESERVATIONS.c.id)
            ).first()
            reserved_chars, reserved_ms = settlement.characters, settlement.audio_ms
        if held is None:
            log.warning(
                "a block of cache-hit credit was given back by a sweep before %d characters "
                "spent from it were counted",
                settlement.characters,
            )
            lost.append(credit.row_id)
            continue
        for statement in settling(
            credit.account_id,
            credit.key_id,
            credit.period_start,
            reserved_chars,
            reserved_ms,
            settlement.characters,
            settlement.audio_ms,
        ):
            connection.execute(statement)
    return lost
