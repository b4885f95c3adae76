"""People: resolving @mentions to persons, and loading the people the config names."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from handlers.desk import Ctx, person_for
from handlers.policy import PersonSpec
from handlers.replies import UsageError
from store.models import Identity, Person

if TYPE_CHECKING:
    from store.uow import UnitOfWork


def resolve_mention(ctx: Ctx, mention: str) -> Person:
    """@key, @username or @<platform user id> → the person; unknown names are refused."""
    name = mention.lstrip("@").strip()
    if name.lower() in ("me", "我"):
        return ctx.person
    people = ctx.uow.people
    platform = ctx.actor.platform
    person = (
        people.by_key(name)
        or people.by_username(platform, name)
        or people.by_user_id(platform, name)
        or people.by_username(None, name)
    )
    if person is None:
        vouched = next((a for a in ctx.known_users if a.user_id == name), None)
        if vouched is not None:
            return person_for(ctx.uow, vouched, ctx.policy.timezone)
        raise UsageError("err_unknown_person", mention=f"@{name}")
    return person


def sync_people(uow: UnitOfWork, specs: Iterable[PersonSpec]) -> None:
    """Create or update the config's people and their identities (idempotent, at start)."""
    for spec in specs:
        person = uow.people.by_key(spec.key)
        if person is None:
            person = uow.people.add(Person(key=spec.key, display_name=spec.name, timezone=spec.timezone))
        else:
            person.display_name = spec.name
            person.timezone = spec.timezone
        for platform, user_id, username in spec.identities:
            # Someone who talked to the bot before the config named them is folded into this person.
            for ident in uow.people.identities_of_user(platform, user_id) if user_id else ():
                if ident.person_id != person.id:
                    uow.people.merge(ident.person_id, person.id)
            uow.flush()
            uow.refresh(person)
            if not any(i.platform == platform and i.user_id == user_id for i in person.identities):
                uow.people.add_identity(
                    Identity(person_id=person.id, platform=platform, workspace="", user_id=user_id, username=username)
                )
            for ident in person.identities:
                if ident.platform == platform and ident.user_id == user_id and username:
                    ident.username = username
    uow.flush()
