"""Outgoing notifications as outbox rows, written inside the command's transaction."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.desk import Ctx
from store.models import OutboxMessage, Person, Ticket

if TYPE_CHECKING:
    from store.outbox_repository import Queued


def destinations(ctx: Ctx, ticket: Ticket) -> list[tuple[str, str]]:
    """(platform, chat) pairs that carry this ticket: its group's channels and existing threads."""
    result: list[tuple[str, str]] = []
    group = ctx.policy.groups.get(ticket.group_key)
    if group:
        for platform, chat in group.channels.items():
            if platform in ctx.policy.platforms and chat:
                result.append((platform, chat))
    for thread in ctx.uow.threads.for_ticket(ticket.id):
        if (thread.platform, thread.chat_id) not in result and thread.platform in ctx.policy.platforms:
            result.append((thread.platform, thread.chat_id))
    return result


def _row(ctx: Ctx, ticket: Ticket | None, kind: str, platform: str, destination: str, payload: dict[str, Any],
         person: Person | None = None) -> Queued:
    row = ctx.uow.outbox.queue(
        ticket,
        created_at=ctx.now,
        next_attempt_at=ctx.now,
        person_id=person.id if person else None,
        kind=kind,
        platform=platform,
        destination=destination,
        # who acted, so a delivery that cannot be made can be explained to them
        payload={**payload, "actor": ctx.person.id},
        status="pending",
        attempts=0,
        last_error="",
    )
    ctx.wrote_outbox = True
    return row


def card(ctx: Ctx, ticket: Ticket) -> None:
    """Post the ticket card where it is not yet, refresh it where it is."""
    for platform, chat in destinations(ctx, ticket):
        _row(ctx, ticket, "card", platform, f"{platform}:{chat}", {"chat_id": chat})


def notice(ctx: Ctx, ticket: Ticket, key: str, params: dict[str, Any], skip_chat: tuple[str, str] | None = None,
           ) -> list[Queued]:
    """A one-line notice in each of the ticket's threads, so the thread reads as its history."""
    rows = []
    for platform, chat in destinations(ctx, ticket):
        if (platform, chat) == skip_chat:
            continue
        rows.append(_row(ctx, ticket, "notice", platform, f"{platform}:{chat}",
                         {"chat_id": chat, "text": {"key": key, "params": params}}))
    return rows


def channel_post(ctx: Ctx, platform: str, chat: str, ticket: Ticket | None, key: str, params: dict[str, Any],
                 ) -> Queued:
    """A message at the top level of a chat (alerts, digests), not in a ticket thread."""
    return _row(ctx, ticket, "post", platform, f"{platform}:{chat}",
                {"chat_id": chat, "text": {"key": key, "params": params}})


def edit(ctx: Ctx, original: OutboxMessage, key: str, params: dict[str, Any]) -> Queued:
    """Rewrite a message sent earlier (e.g. a reminder whose condition cleared), once it is delivered."""
    return _row(ctx, None, "edit", original.platform, original.destination,
                {"target": original.id, "text": {"key": key, "params": params}})


def dm(ctx: Ctx, person: Person | None, ticket: Ticket | None, key: str, params: dict[str, Any],
       include_actor: bool = False) -> Queued | None:
    """A direct message on the person's first platform that is live; never to the actor unless asked."""
    if person is None or (person.id == ctx.person.id and not include_actor):
        return None
    for identity in person.identities:
        if identity.platform in ctx.policy.platforms:
            return _row(ctx, ticket, "dm", identity.platform, f"{identity.platform}:dm:{person.id}",
                        {"user_id": identity.user_id, "text": {"key": key, "params": params}}, person=person)
    return None


def display(person: Person | None) -> str:
    if person is None:
        return "nobody"
    return person.display_name or person.key
