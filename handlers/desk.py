"""The desk: what every use case gets (unit of work, clock, policy) and the command bus."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handlers.clock import Clock
from handlers.commands import Actor, Command
from handlers.policy import DeskPolicy
from handlers.replies import Reply, UsageError, text
from handlers.views import ClockView, TicketView, ticket_view
from store.errors import DuplicateDelivery
from store.models import Identity, Person, Ticket

if TYPE_CHECKING:
    from store.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# Called inside the command's transaction after a ticket changed (e.g. the SLA engine
# recomputing deadlines), with the change kind: created, assigned, status, priority, fields, comment.
# A "created" ticket is complete but not yet inserted, so the hook's settings go into the INSERT itself.
ChangeHook = Callable[["Ctx", Ticket, str], None]
# The SLA clocks of a ticket for its view, read through the unit of work the ticket was loaded in.
ClockProvider = Callable[[Ticket, datetime, "UnitOfWork"], tuple[ClockView, ...]]


@dataclass
class Desk:
    uow: UnitOfWorkFactory
    clock: Clock
    policy: DeskPolicy
    change_hooks: list[ChangeHook] = field(default_factory=list)
    clock_views: ClockProvider | None = None
    # Wakes the outbox dispatcher after a commit that wrote notifications.
    on_commit: Callable[[], None] = lambda: None

    def view(self, ticket: Ticket, uow: UnitOfWork, detail: bool = False) -> TicketView:
        if detail:
            uow.read_back(ticket)
        clocks = self.clock_views(ticket, self.clock.now(), uow) if self.clock_views else ()
        return ticket_view(ticket, self.policy.group_name(ticket.group_key), detail=detail, clocks=clocks,
                           timezone=self.policy.timezone)


@dataclass
class Ctx:
    """One command's world: the open transaction, the acting person, the instant."""

    desk: Desk
    uow: UnitOfWork
    actor: Actor
    person: Person
    now: datetime
    wrote_outbox: bool = False
    known_users: tuple[Actor, ...] = ()

    @property
    def policy(self) -> DeskPolicy:
        return self.desk.policy

    def audit(self, ticket: Ticket, action: str, field: str = "", old: Any = "", new: Any = "", detail: str = "",
              system: bool = False) -> None:
        self.uow.audit(ticket, actor_id=None if system else self.person.id, at=self.now, action=action, field=field,
                       old_value="" if old is None else str(old), new_value="" if new is None else str(new),
                       detail=detail)

    def changed(self, ticket: Ticket, kind: str) -> None:
        ticket.updated_at = self.now
        for hook in self.desk.change_hooks:
            hook(self, ticket, kind)

    def ticket(self, number: int) -> Ticket:
        # Locked: two people pressing Claim at once must not both win.
        ticket = self.uow.tickets.by_number(number, lock=True)
        if ticket is None:
            raise UsageError("err_no_ticket", number=number)
        return ticket

    def view(self, ticket: Ticket, detail: bool = False) -> TicketView:
        return self.desk.view(ticket, self.uow, detail)


def known_person(uow: UnitOfWork, actor: Actor) -> Person | None:
    person = uow.people.by_identity(actor.platform, actor.workspace, actor.user_id)
    if person is None and actor.workspace:
        # Identities from the config carry no workspace id.
        person = uow.people.by_identity(actor.platform, "", actor.user_id)
    return person


def may_use_desk(policy: DeskPolicy, cmd: Command, person: Person | None) -> bool:
    """Who may read and change tickets (`person`: the actor's known person, if any): see DeskPolicy.open_platforms."""
    actor = cmd.actor
    if actor.platform in policy.open_platforms:
        return True
    if cmd.source is not None and policy.team_chat(actor.platform, cmd.source.chat_id):
        return True
    return person is not None and policy.is_configured(person.key)


def person_for(uow: UnitOfWork, actor: Actor, timezone: str = "UTC", known: Person | None = None) -> Person:
    """The person behind a verified chat identity (`known`: already looked up); first contact registers them."""
    person = known or known_person(uow, actor)
    if person is None:
        person = uow.people.add(
            Person(key=f"{actor.platform}:{actor.user_id}", display_name=actor.display_name or actor.user_id,
                   timezone=timezone)
        )
        uow.people.add_identity(
            Identity(person_id=person.id, platform=actor.platform, workspace=actor.workspace,
                     user_id=actor.user_id, username=actor.username)
        )
        uow.refresh(person)
        return person
    if actor.display_name and person.display_name in ("", actor.user_id):
        person.display_name = actor.display_name
    return person


Handler = Callable[[Ctx, Any], Reply]
HANDLERS: dict[type[Command], Handler] = {}


def handles(*types: type[Command]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for t in types:
            HANDLERS[t] = fn
        return fn

    return register


def execute(desk: Desk, cmd: Command, inbox_id: int | None = None) -> Reply:
    """Run one command in one transaction: change + audit + outbox commit together, or nothing.

    `inbox_id`: the kept request this command came from; it is removed in the same transaction, and
    also when the command ends without a change, so each kept request runs exactly once."""
    committed, wrote_outbox = False, False
    try:
        _handler_for(cmd)
        with desk.uow() as uow:
            reply, ctx = _run(desk, uow, cmd, inbox_id)
            if ctx is not None:
                uow.commit()
                committed, wrote_outbox = True, ctx.wrote_outbox
    except DuplicateDelivery:
        return Reply(texts=(text("duplicate"),), duplicate=True)
    except Exception:
        # The transaction was rolled back: nothing is half-written. Say so instead of going silent.
        log.exception("command %s failed", type(cmd).__name__)
        return Reply(texts=(text("err_internal"),), ok=False)
    finally:
        if inbox_id is not None and not committed:
            forget_kept(desk, inbox_id)
    if wrote_outbox:
        desk.on_commit()
    return reply


def execute_batch(desk: Desk, items: Sequence[tuple[Command, int | None]], budget_s: float | None = None
                  ) -> list[Reply]:
    """Run commands in order in one transaction, as `execute` would one by one (a burst then pays for
    BEGIN, COMMIT and the write lock once per batch instead of once per command); the replies of those run.

    `budget_s`: once the batch has taken this long no further command joins it — the write lock it holds
    keeps everyone else waiting — and the caller runs the rest next. A command that would not commit
    (refused, invalid, duplicate, failed) rolls the batch back: the commands before it run again together,
    then it runs alone, and the rest are left to the caller."""
    if len(items) <= 1:
        return [execute(desk, cmd, inbox_id) for cmd, inbox_id in items]
    started = time.perf_counter()
    replies: list[Reply] = []
    wrote_outbox = False
    stopped_at: int | None = None
    committing = False
    try:
        with desk.uow() as uow:
            for cmd, inbox_id in items:
                if replies and budget_s is not None and time.perf_counter() - started > budget_s:
                    break
                _handler_for(cmd)
                uow.next_command()
                reply, ctx = _run(desk, uow, cmd, inbox_id)
                if ctx is None:
                    stopped_at = len(replies)
                    break
                replies.append(reply)
                wrote_outbox = wrote_outbox or ctx.wrote_outbox
            if stopped_at is None:
                committing = True
                uow.commit()
    except Exception:
        if committing:  # the commit itself failed: each alone says why
            return [execute(desk, cmd, inbox_id) for cmd, inbox_id in items[:len(replies)]]
        stopped_at = len(replies)
    if stopped_at is None:
        if wrote_outbox:
            desk.on_commit()
        return replies
    head = execute_batch(desk, items[:stopped_at])
    if len(head) < stopped_at:  # run again, the first ones stopped earlier (another thread got in between)
        return head
    return head + [execute(desk, *items[stopped_at])]


def _handler_for(cmd: Command) -> Handler:
    handler = HANDLERS.get(type(cmd))
    if handler is None:
        raise TypeError(f"no handler for {type(cmd).__name__}")
    return handler


def _run(desk: Desk, uow: UnitOfWork, cmd: Command, inbox_id: int | None) -> tuple[Reply, Ctx | None]:
    """One command inside an open unit of work, up to its commit: its reply, and its context when there
    are changes to commit (None: answered without a change, the transaction is to be rolled back)."""
    if inbox_id is not None and not uow.inbox.take(inbox_id):
        return Reply(texts=(text("duplicate"),), duplicate=True), None
    now = desk.clock.now()
    known = known_person(uow, cmd.actor)
    if not may_use_desk(desk.policy, cmd, known):
        return Reply(texts=(text("err_not_member", platform=cmd.actor.platform, user_id=cmd.actor.user_id),),
                     ok=False), None
    if cmd.dedup_keys:
        if uow.dedup.seen(cmd.dedup_keys):
            return Reply(texts=(text("duplicate"),), duplicate=True), None
        uow.dedup.remember(cmd.dedup_keys, now)
        uow.flush()
    person = person_for(uow, cmd.actor, desk.policy.timezone, known)
    ctx = Ctx(desk, uow, cmd.actor, person, now, known_users=cmd.known_users)
    try:
        reply = _handler_for(cmd)(ctx, cmd)
    except UsageError as err:
        return Reply(texts=(err.text,), ok=False), None
    return reply, ctx


def forget_kept(desk: Desk, inbox_id: int) -> None:
    """The kept request was answered without a change (refused, duplicate, failed, unreadable): do not run it
    again."""
    try:
        with desk.uow() as uow:
            uow.inbox.take(inbox_id)
            uow.commit()
    except Exception:
        # Left in the inbox it runs once more at the next start, where the same answer is given.
        log.exception("could not clear inbox item %s", inbox_id)
