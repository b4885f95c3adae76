"""Repositories: the queries the use cases need, named for what they answer."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, bindparam, delete, func, insert, inspect, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, lazyload, make_transient_to_detached
from sqlalchemy.sql.elements import ColumnElement

from store.models import (
    ChatMessage,
    Comment,
    Counter,
    FormSession,
    Identity,
    Person,
    ProcessedEvent,
    Ticket,
    TicketTag,
    TicketThread,
    Watcher,
)

OPEN_STATUSES = ("new", "open", "waiting")

# Built once: the statements every command runs (building and cache-keying them each time was a
# measurable share of creating a ticket).
# On the table, not the mapped class: the ORM's bulk-update bookkeeping cost more than the UPDATE itself.
_COUNTERS = Counter.__table__
_NEXT_NUMBER = (
    update(_COUNTERS).where(_COUNTERS.c.name == "ticket").values(value=_COUNTERS.c.value + 1)
    .returning(_COUNTERS.c.value)
)
# A person comes with their identities in the same statement (a card's mention, a DM need them): a
# joined load costs half a lazy load and a third of the model's default select-in load.
_PERSON_BY_KEY = select(Person).where(Person.key == bindparam("key")).options(joinedload(Person.identities))
_PERSON_BY_IDENTITY = select(Person).join(Identity).where(
    Identity.platform == bindparam("platform"), Identity.workspace == bindparam("workspace"),
    Identity.user_id == bindparam("user_id"),
).options(joinedload(Person.identities))


# A new ticket goes in as one INSERT of its own values: the ORM's flush (dependency sort, bookkeeping
# for each of its relationships) cost three times the statement, for a row nobody else can see yet.
_TICKETS = Ticket.__table__
_INSERT_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)
_INSERT_TAGS = insert(TicketTag.__table__)
_TICKET_COLUMNS = tuple((attr.key, attr.columns[0]) for attr in inspect(Ticket).column_attrs
                        if not attr.columns[0].primary_key)
_TICKET_PEOPLE = (("reporter", "reporter_id"), ("assignee", "assignee_id"))


def _new_ticket_values(ticket: Ticket) -> dict[str, object]:
    held = inspect(ticket).dict
    people = {key: held[relation].id if held[relation] is not None else None
              for relation, key in _TICKET_PEOPLE if relation in held}
    values: dict[str, object] = {}
    for key, column in _TICKET_COLUMNS:
        if key in people or key in held:
            values[key] = people.get(key, held.get(key))
        else:
            values[key] = column.default.arg if column.default is not None and column.default.is_scalar else None
    return values


class TicketRepository:
    def __init__(self, session: Session, new_tickets: set[int] | None = None) -> None:
        self.session = session
        self.new_tickets = set() if new_tickets is None else new_tickets

    def ensure_counter(self, start: int) -> None:
        """Create the ticket counter once (at start), so numbering never races on its first row."""
        dialect = self.session.get_bind().dialect.name
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
        if insert is not None:
            self.session.execute(
                insert(Counter).values(name="ticket", value=start - 1).on_conflict_do_nothing()
            )
        elif self.session.get(Counter, "ticket") is None:
            self.session.add(Counter(name="ticket", value=start - 1))

    def next_number(self, start: int = 1001) -> int:
        """Allocate the next human ticket number (the counter row is locked until commit)."""
        value = self.session.execute(_NEXT_NUMBER).scalar_one_or_none()
        if value is None:
            self.ensure_counter(start)
            return self.next_number(start)
        return value

    def add(self, ticket: Ticket) -> None:
        """Insert a new ticket (with its tags); it is then in the session like one loaded from the database."""
        held = inspect(ticket).dict
        if any(held.get(children) for children in ("attachments", "comments", "watchers", "threads", "events")):
            # Children with keys of their own (a form's photos): the ORM inserts them in order.
            self.session.add(ticket)
            self.session.flush()
            self.new_tickets.add(ticket.id)
            return
        values = _new_ticket_values(ticket)
        ticket_id = self.session.execute(_INSERT_TICKET, values).scalar_one()
        held.update(values, id=ticket_id)
        tags = list(ticket.tags)
        if tags:
            self.session.execute(_INSERT_TAGS, [{"ticket_id": ticket_id, "tag": tag.tag} for tag in tags])
        for tag in tags:
            inspect(tag).dict["ticket_id"] = ticket_id
            make_transient_to_detached(tag)
        make_transient_to_detached(ticket)
        self.session.add(ticket)
        self.new_tickets.add(ticket_id)

    def get(self, ticket_id: int, lock: bool = False) -> Ticket | None:
        """A ticket by id; `lock` holds its row until commit (PostgreSQL; SQLite already serializes writers)."""
        if lock:
            return self._locked(Ticket.id == ticket_id)
        return self.session.get(Ticket, ticket_id)

    def by_number(self, number: int, lock: bool = False) -> Ticket | None:
        """A ticket by its human number; `lock` as in get()."""
        if lock:
            return self._locked(Ticket.number == number)
        return self.session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()

    def _locked(self, condition: ColumnElement[bool]) -> Ticket | None:
        # The ticket row alone: rows joined into a FOR UPDATE query keep the snapshot from before the
        # wait for the lock, so people (assignee, reporter) load lazily once the lock is held.
        stmt = (select(Ticket).where(condition).options(lazyload(Ticket.reporter), lazyload(Ticket.assignee))
                .with_for_update().execution_options(populate_existing=True))
        return self.session.execute(stmt).scalar_one_or_none()

    def search(self, query: str, limit: int = 20) -> Sequence[Ticket]:
        """Exact order number or shop handle first, then title/customer text, newest first."""
        q = query.strip()
        conditions = [
            Ticket.order_no == q,
            Ticket.customer_handle == q,
            func.lower(Ticket.title).contains(q.lower(), autoescape=True),
            func.lower(Ticket.customer_name).contains(q.lower(), autoescape=True),
            func.lower(Ticket.customer_handle).contains(q.lower(), autoescape=True),
        ]
        digits = q.lstrip("#")
        if digits.isdigit() and len(digits) < 10:
            conditions.append(Ticket.number == int(digits))
        stmt = select(Ticket).where(or_(*conditions)).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
        return self.session.execute(stmt).scalars().all()

    def open_assigned_to(self, person_id: int, limit: int = 50) -> Sequence[Ticket]:
        stmt = (
            select(Ticket)
            .where(Ticket.assignee_id == person_id, Ticket.status.in_(OPEN_STATUSES + ("resolved",)))
            .order_by(Ticket.created_at)
            .limit(limit)
        )
        return self.session.execute(stmt).scalars().all()

    def count(self) -> int:
        return self.session.execute(select(func.count(Ticket.id))).scalar_one()

    def comment_by_source(self, platform: str, chat_id: str, message_id: str) -> Comment | None:
        return self.session.execute(
            select(Comment).where(
                Comment.source_platform == platform, Comment.source_chat == chat_id,
                Comment.source_message_id == message_id,
            )
        ).scalar_one_or_none()


class PersonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # One transaction may run a batch of commands that look up the same people again and again (a
        # group's default assignee on every new ticket): found once, then taken from the session's own map.
        self._found: dict[tuple[str, ...], int] = {}

    def get(self, person_id: int) -> Person | None:
        return self.session.get(Person, person_id)

    def by_key(self, key: str) -> Person | None:
        return self._find(("key", key), _PERSON_BY_KEY, {"key": key})

    def by_identity(self, platform: str, workspace: str, user_id: str) -> Person | None:
        params = {"platform": platform, "workspace": workspace, "user_id": user_id}
        return self._find(("identity", platform, workspace, user_id), _PERSON_BY_IDENTITY, params)

    def _find(self, found_as: tuple[str, ...], stmt: Select[tuple[Person]], params: dict[str, str]) -> Person | None:
        person_id = self._found.get(found_as)
        if person_id is not None and (person := self.session.get(Person, person_id)) is not None:
            return person
        person = self.session.execute(stmt, params).unique().scalars().first()
        if person is not None:
            self._found[found_as] = person.id
        return person

    def by_user_id(self, platform: str, user_id: str) -> Person | None:
        stmt = select(Person).join(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
        return self.session.execute(stmt).scalars().first()

    def by_username(self, platform: str | None, username: str) -> Person | None:
        """By chat username; platform None searches every platform."""
        stmt = select(Person).join(Identity).where(func.lower(Identity.username) == username.lower())
        if platform is not None:
            stmt = stmt.where(Identity.platform == platform)
        return self.session.execute(stmt).scalars().first()

    def add(self, person: Person) -> Person:
        self._found.clear()
        self.session.add(person)
        self.session.flush()
        return person

    def add_identity(self, identity: Identity) -> Identity:
        self._found.clear()
        self.session.add(identity)
        self.session.flush()
        return identity

    def identities_of_user(self, platform: str, user_id: str) -> Sequence[Identity]:
        """Every identity of a platform user id, in any workspace."""
        stmt = select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
        return self.session.execute(stmt).scalars().all()

    def merge(self, duplicate_id: int, person_id: int) -> None:
        """Fold a person registered on first contact into the configured one: their work moves too."""
        self._found.clear()
        for column in (Ticket.reporter_id, Ticket.assignee_id):
            self.session.execute(update(Ticket).where(column == duplicate_id).values({column: person_id}))
        self.session.execute(update(Comment).where(Comment.author_id == duplicate_id).values(author_id=person_id))
        already = select(Watcher.ticket_id).where(Watcher.person_id == person_id).scalar_subquery()
        self.session.execute(delete(Watcher).where(Watcher.person_id == duplicate_id, Watcher.ticket_id.in_(already)))
        self.session.execute(update(Watcher).where(Watcher.person_id == duplicate_id).values(person_id=person_id))
        self.session.execute(update(Identity).where(Identity.person_id == duplicate_id).values(person_id=person_id))

    def identity(self, person_id: int, platform: str) -> Identity | None:
        stmt = select(Identity).where(Identity.person_id == person_id, Identity.platform == platform)
        return self.session.execute(stmt).scalars().first()


class ThreadRepository:
    def __init__(self, session: Session, new_tickets: set[int] | None = None) -> None:
        self.session = session
        self.new_tickets = set() if new_tickets is None else new_tickets

    def for_ticket(self, ticket_id: int) -> Sequence[TicketThread]:
        if ticket_id in self.new_tickets:
            return ()
        stmt = select(TicketThread).where(TicketThread.ticket_id == ticket_id).order_by(TicketThread.id)
        return self.session.execute(stmt).scalars().all()

    def get(self, ticket_id: int, platform: str, chat_id: str) -> TicketThread | None:
        stmt = select(TicketThread).where(
            TicketThread.ticket_id == ticket_id, TicketThread.platform == platform, TicketThread.chat_id == chat_id
        )
        return self.session.execute(stmt).scalar_one_or_none()

    def add(self, thread: TicketThread) -> None:
        self.new_tickets.discard(thread.ticket_id)
        self.session.add(thread)
        self.session.flush()

    def link_message(self, ticket_id: int, platform: str, chat_id: str, message_id: str, kind: str) -> None:
        exists = self.session.execute(
            select(ChatMessage.id).where(
                ChatMessage.platform == platform, ChatMessage.chat_id == chat_id, ChatMessage.message_id == message_id
            )
        ).first()
        if not exists:
            self.session.add(
                ChatMessage(ticket_id=ticket_id, platform=platform, chat_id=chat_id, message_id=message_id, kind=kind)
            )

    def ticket_for_message(self, platform: str, chat_id: str, message_id: str) -> int | None:
        return self.session.execute(
            select(ChatMessage.ticket_id).where(
                ChatMessage.platform == platform, ChatMessage.chat_id == chat_id, ChatMessage.message_id == message_id
            )
        ).scalar_one_or_none()

    def ticket_for_topic(self, platform: str, chat_id: str, topic_id: str) -> int | None:
        return self.session.execute(
            select(TicketThread.ticket_id).where(
                TicketThread.platform == platform, TicketThread.chat_id == chat_id, TicketThread.topic_id == topic_id
            )
        ).scalar_one_or_none()


class DedupRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def seen(self, keys: Iterable[str]) -> bool:
        keys = list(keys)
        if not keys:
            return False
        return self.session.execute(select(ProcessedEvent.id).where(ProcessedEvent.key.in_(keys))).first() is not None

    def remember(self, keys: Iterable[str], now: datetime) -> None:
        for key in keys:
            self.session.add(ProcessedEvent(key=key, at=now))


class FormRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, platform: str, chat_id: str, user_id: str) -> FormSession | None:
        stmt = select(FormSession).where(
            FormSession.platform == platform, FormSession.chat_id == chat_id, FormSession.user_id == user_id
        )
        return self.session.execute(stmt).scalar_one_or_none()

    def add(self, form: FormSession) -> None:
        self.session.add(form)

    def delete(self, form: FormSession) -> None:
        self.session.delete(form)
