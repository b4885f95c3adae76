"""The outbox dispatcher: delivers committed notifications in order per chat, paced, retried, never lost."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any
from datetime import timedelta

from bot.delivery import Delivered, Delivery, PermanentError, RetryLater, Sender, TransientError
from handlers.desk import Desk
from handlers.replies import Text
from store.models import OutboxMessage, TicketThread

log = logging.getLogger("afterdesk.outbox")

LEASE = timedelta(minutes=2)
# Waits up to this long are slept in place (keeps order and the lease); longer ones are rescheduled.
INLINE_WAIT_MAX = 30.0
INLINE_TRANSIENT_RETRIES = 3
# At most one claim round per this many seconds, however often commits wake the dispatcher.
ROUND_GAP = 0.05


class OutboxStore:
    """The synchronous half: claims, resolves and settles rows (each call one transaction)."""

    def __init__(self, desk: Desk, max_attempts: int = 20, per_destination: int = 20) -> None:
        self.desk = desk
        self.max_attempts = max_attempts
        # A paced chat drains slowly (Telegram groups: 20/min): claim only what goes out within a lease.
        self.per_destination = per_destination
        self.owner = uuid.uuid4().hex
        self._single_writer: bool | None = None

    def claim_due(self, busy: set[str], limit: int = 500) -> dict[str, list[int]]:
        """Lease due rows of idle destinations, grouped by destination in id order."""
        now = self.desk.clock.now()
        heads = dict(skip=busy, per_destination=self.per_destination, limit=limit)
        ids = None
        if self._one_writer():
            # Find the heads in a snapshot beside the writers, and take the write lock only to lease
            # what was found (not at all when nothing was).
            with self.desk.uow.read_only() as reader:
                ids = reader.outbox.heads(now, **heads)
            if not ids:
                return {}
        with self.desk.uow() as uow:
            if ids is None:
                won = uow.outbox.claim(now, now + LEASE, self.owner, **heads)
            else:
                won = uow.outbox.lease(ids, now, now + LEASE, self.owner)
            uow.commit()
        grouped: dict[str, list[int]] = {}
        for row_id, destination in won:
            grouped.setdefault(destination, []).append(row_id)
        return grouped

    def _one_writer(self) -> bool:
        """The database takes one writer at a time (SQLite)."""
        if self._single_writer is None:
            with self.desk.uow() as uow:  # (no statement: nothing begins)
                self._single_writer = uow.session.get_bind().dialect.name == "sqlite"
        return self._single_writer

    def prepare(self, row_id: int) -> Delivery | None | bool:
        """The delivery for a row; None to skip it; False when an older row must go first."""
        with self.desk.uow() as uow:
            row = uow.outbox.renew(row_id, self.owner, self.desk.clock.now() + LEASE)
            if row is None:
                return None
            if uow.outbox.pending_before(row.destination, row.id):
                return False  # (leaving without commit undoes the renewal)
            if row.kind == "card" and uow.outbox.newer_card_pending(row) and uow.threads.get(
                row.ticket_id, row.platform, row.payload.get("chat_id", "")
            ):
                # Only a redraw of a posted card may be skipped: the first post roots the thread
                # that the notices queued behind it go into.
                row.status = "superseded"
                uow.commit()
                return None
            if row.kind == "dm" and row.ticket_id and not self._card_of(uow, row) and uow.outbox.card_pending(
                row.ticket_id, row.platform
            ):
                # The DM links to the ticket's card: let the card be posted first.
                return False
            delivery = self._resolve(uow, row)
            uow.commit()
            return delivery

    @staticmethod
    def _card_of(uow: Any, row: OutboxMessage) -> TicketThread | None:
        """The ticket's first card on the row's platform, if posted."""
        return next((t for t in uow.threads.for_ticket(row.ticket_id) if t.platform == row.platform), None)

    def _resolve(self, uow: Any, row: OutboxMessage) -> Delivery | None:
        text_data = row.payload.get("text")
        if row.kind == "edit":
            target = uow.outbox.get(row.payload["target"])
            if target is None or target.status != "sent" or not target.result_message_id:
                # Never delivered (parked/superseded): there is nothing to rewrite.
                row.status = "superseded"
                return None
            return Delivery(row_id=row.id, kind="edit", platform=row.platform,
                            chat_id=target.result_chat_id or target.payload.get("chat_id", ""),
                            user_id=target.payload.get("user_id", ""),
                            text=Text(text_data["key"], text_data.get("params", {})),
                            target_message_id=target.result_message_id)
        text = Text(text_data["key"], text_data.get("params", {})) if text_data else None
        ticket = uow.tickets.get(row.ticket_id) if row.ticket_id else None
        chat_id = row.payload.get("chat_id", "")
        thread = uow.threads.get(row.ticket_id, row.platform, chat_id) if ticket and chat_id else None
        if ticket and row.kind == "dm":
            thread = self._card_of(uow, row)
        return Delivery(
            row_id=row.id, kind=row.kind, platform=row.platform, chat_id=chat_id,
            user_id=row.payload.get("user_id", ""), text=text,
            ticket=self.desk.view(ticket, uow) if ticket else None,
            card_message_id=thread.card_message_id if thread else None,
            card_chat_id=thread.chat_id if thread else None,
            topic_id=thread.topic_id if thread else None,
        )

    def finish(self, row_id: int, item: Delivery, result: Delivered) -> None:
        """Mark sent; remember the card (and every ticket message) so replies map back."""
        now = self.desk.clock.now()
        with self.desk.uow() as uow:
            settled = uow.outbox.mark_sent(row_id, self.owner, now, result.message_id,
                                           result.chat_id or item.chat_id or None)
            if settled is None:
                return
            ours, ticket_id = settled
            if not ours:
                log.warning("outbox %s: delivered after our lease passed to another dispatcher", row_id)
            if ticket_id and result.message_id and item.kind in ("card", "notice", "post"):
                chat = result.chat_id or item.chat_id
                thread = uow.threads.get(ticket_id, item.platform, chat) if item.kind == "card" else None
                if item.kind == "card" and thread is None:
                    uow.threads.add(TicketThread(ticket_id=ticket_id, platform=item.platform, chat_id=chat,
                                                 card_message_id=result.message_id, topic_id=result.topic_id,
                                                 created_at=now))
                elif thread is not None and result.replaced:
                    # The old card was deleted: refreshes edit the new one, notices reply under it.
                    thread.card_message_id, thread.topic_id = result.message_id, result.topic_id
                uow.threads.link_message(ticket_id, item.platform, chat, result.message_id, item.kind)
            uow.commit()

    def reschedule(self, row_id: int, error: str, delay: float, count_attempt: bool = True) -> None:
        now = self.desk.clock.now()
        with self.desk.uow() as uow:
            row = uow.outbox.get(row_id)
            if row is None:
                return
            row.attempts += 1 if count_attempt else 0
            row.last_error = error[:500]
            row.lease_until = None
            if row.attempts >= self.max_attempts:
                row.status = "parked"
                log.error("outbox %s parked after %s attempts to %s: %s", row.id, row.attempts, row.destination, error)
            else:
                row.next_attempt_at = now + timedelta(seconds=delay)
            uow.commit()

    def park(self, row_id: int, reason: str, tell_actor: bool = False) -> None:
        """Give up on a row for good; for a card, tell the person who acted what to fix."""
        now = self.desk.clock.now()
        with self.desk.uow() as uow:
            row = uow.outbox.get(row_id)
            if row is None:
                return
            row.status, row.last_error, row.lease_until = "parked", reason[:500], None
            row.attempts += 1
            log.error("outbox %s parked: %s could not be reached on %s: %s",
                      row.id, row.payload.get("chat_id") or row.destination, row.platform, reason)
            actor = uow.people.get(row.payload["actor"]) if tell_actor and row.payload.get("actor") else None
            identity = uow.people.identity(actor.id, row.platform) if actor and row.kind == "card" else None
            if identity is not None:
                ticket = uow.tickets.get(row.ticket_id) if row.ticket_id else None
                params = {"ref": f"#{ticket.number}" if ticket else "the ticket",
                          "chat": row.payload.get("chat_id", ""), "reason": reason}
                uow.outbox.add(OutboxMessage(
                    created_at=now, next_attempt_at=now, ticket_id=row.ticket_id, person_id=actor.id, kind="dm",
                    platform=row.platform, destination=f"{row.platform}:dm:{actor.id}",
                    payload={"user_id": identity.user_id, "text": {"key": "n_cannot_post", "params": params}},
                    status="pending", attempts=0, last_error="",
                ))
            uow.commit()

    def release(self, ids: list[int]) -> None:
        with self.desk.uow() as uow:
            uow.outbox.release(ids)
            uow.commit()


class Dispatcher:
    """The async half: one worker per destination, paced by the platform's sender."""

    def __init__(self, store: OutboxStore, senders: Mapping[str, Sender], poll_seconds: float = 1.0,
                 round_gap: float = ROUND_GAP) -> None:
        self.store = store
        self.senders = dict(senders)
        self.poll_seconds = poll_seconds
        self.round_gap = round_gap
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._last_sent: dict[str, float] = {}
        self._wake: asyncio.Event | None = None
        self._wake_queued = False
        self._halt: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        # run() and drain() must not interleave: a round leases rows before it starts their workers.
        self._round_lock: asyncio.Lock | None = None

    def wake(self) -> None:
        """Thread-safe nudge after a commit wrote outbox rows."""
        if self._loop is not None and self._wake is not None and not self._wake_queued:
            # Hundreds of commits a second need not each write to the event loop's pipe.
            self._wake_queued = True
            self._loop.call_soon_threadsafe(self._woken)

    def _woken(self) -> None:
        self._wake_queued = False
        if self._wake is not None:
            self._wake.set()

    async def _round(self) -> int:
        self._round_lock = self._round_lock or asyncio.Lock()
        async with self._round_lock:
            return await self._round_locked()

    async def _round_locked(self) -> int:
        busy = {d for d, t in self._workers.items() if not t.done()}
        platforms = set(self.senders)
        grouped = await asyncio.to_thread(self.store.claim_due, busy)
        started = 0
        for destination, ids in grouped.items():
            if destination.split(":", 1)[0] not in platforms:
                await asyncio.to_thread(self.store.release, ids)
                continue
            running = self._workers.get(destination)
            if running is not None and not running.done():
                # Another round (run() beside drain()) started a worker here while we claimed:
                # one worker per destination — give these rows back for the next round.
                await asyncio.to_thread(self.store.release, ids)
                continue
            self._workers[destination] = asyncio.create_task(self._work(destination, ids))
            started += 1
        return started

    async def run(self) -> None:
        """Deliver until stopped; wakes on commits and polls for other processes' rows."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._halt = asyncio.Event()
        self._wake_queued = False
        while not self._stopping:
            self._wake.clear()
            began = self._loop.time()
            try:
                await self._round()
            except Exception:
                log.exception("outbox round failed; retrying")
            # However many commits wake us, one round per gap: the rows they wrote are all picked
            # up by the next one. A slow claim (a long backlog to read) widens the gap, so claiming
            # never takes more than a fifth of the time.
            took = self._loop.time() - began
            await _wait(self._halt, max(self.round_gap, 5 * took) - took)
            await _wait(self._wake, self.poll_seconds)
        await self._join()

    async def drain(self, rounds: int = 1000) -> None:
        """Deliver everything that is due now, then return (tests, demo, shutdown)."""
        self._loop = self._loop or asyncio.get_running_loop()
        self._wake = self._wake or asyncio.Event()
        for _ in range(rounds):
            started = await self._round()
            # Each round finishes before the next, so a row waiting on another (a DM on its card)
            # is retried after that one was delivered, not spun on.
            active = await self._join()
            if not started and not active:
                return
        raise RuntimeError("outbox did not drain")

    async def _join(self) -> bool:
        active = [t for t in self._workers.values() if not t.done()]
        if active:
            await asyncio.gather(*active, return_exceptions=True)
        return bool(active)

    async def stop(self) -> None:
        self._stopping = True
        for event in (self._halt, self._wake):
            if event is not None:
                event.set()
        await self._join()

    async def _work(self, destination: str, ids: list[int]) -> None:
        remaining = list(ids)
        try:
            while remaining:
                row_id = remaining[0]
                item = await asyncio.to_thread(self.store.prepare, row_id)
                if item is False:
                    break
                if item is not None and item is not True:
                    if not await self._deliver(destination, item):
                        break
                remaining.pop(0)
        finally:
            if remaining:
                await asyncio.to_thread(self.store.release, remaining)
            if self._wake is not None and remaining != ids:
                self._wake.set()

    async def _pace(self, destination: str, sender: Sender) -> None:
        last = self._last_sent.get(destination)
        if last is not None:
            wait = sender.min_interval - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)

    async def _deliver(self, destination: str, item: Delivery) -> bool:
        """Send one item; True if settled (sent or parked), False if rescheduled (stop this destination)."""
        sender = self.senders[item.platform]
        transient = 0
        while True:
            await self._pace(destination, sender)
            # Pace from the start of a request: pacing from its end adds its latency to every interval.
            started = time.monotonic()
            try:
                result = await sender.deliver(item)
            except RetryLater as exc:
                # Wait exactly what the platform asks, then send: not that plus another pacing interval.
                self._last_sent.pop(destination, None)
                if exc.seconds <= INLINE_WAIT_MAX:
                    log.warning("outbox %s: %s is rate limited; waiting %.2fs", item.row_id, destination, exc.seconds)
                    await asyncio.sleep(exc.seconds)
                    continue
                await asyncio.to_thread(self.store.reschedule, item.row_id, str(exc), exc.seconds, False)
                return False
            except TransientError as exc:
                transient += 1
                if transient <= INLINE_TRANSIENT_RETRIES:
                    await asyncio.sleep(0.2 * 2**transient)
                    continue
                await asyncio.to_thread(self.store.reschedule, item.row_id, str(exc), min(900.0, 5.0 * 2**transient))
                return False
            except PermanentError as exc:
                await asyncio.to_thread(self.store.park, item.row_id, exc.reason, exc.hint == "invite")
                return True
            except Exception as exc:  # a sender bug must not kill delivery for everyone
                log.exception("outbox %s: unexpected error from %s sender", item.row_id, item.platform)
                await asyncio.to_thread(self.store.reschedule, item.row_id, f"{type(exc).__name__}", 60.0)
                return False
            self._last_sent[destination] = started
            await asyncio.to_thread(self.store.finish, item.row_id, item, result)
            return True


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` have passed."""
    if seconds > 0 and not event.is_set():
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
