"""Platform-neutral commands: what a chat adapter or the scheduler asks the core to do."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """A verified chat identity: who acts (platform user id within its workspace)."""

    platform: str
    user_id: str
    workspace: str = ""
    display_name: str = ""
    username: str = ""


@dataclass(frozen=True)
class ChatRef:
    """Where a message lives: chat, thread root (if any) and the message itself."""

    platform: str
    chat_id: str
    thread_id: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class FileRef:
    """A file kept on the chat platform (we store the reference, not the bytes)."""

    platform: str
    file_id: str
    name: str = ""
    mime_type: str = ""


@dataclass(frozen=True)
class Command:
    """Common envelope: who, where from, and dedup keys that make redelivery a no-op."""

    actor: Actor
    source: ChatRef | None = field(default=None, kw_only=True)
    dedup_keys: tuple[str, ...] = field(default=(), kw_only=True)
    # People the platform itself vouches for (a Slack <@U…> mention, a user picker):
    # an @mention of one of their user ids resolves even on first contact.
    known_users: tuple[Actor, ...] = field(default=(), kw_only=True)


@dataclass(frozen=True)
class CreateTicket(Command):
    title: str = ""
    description: str = ""
    order_no: str = ""
    customer_name: str = ""
    customer_handle: str = ""
    shipping_address: str = ""
    category: str = ""
    product: str = ""
    priority: str = ""
    assignee: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()
    attachments: tuple[FileRef, ...] = ()


@dataclass(frozen=True)
class ShowTicket(Command):
    number: int = 0


@dataclass(frozen=True)
class Assign(Command):
    number: int = 0
    assignee: str = ""


@dataclass(frozen=True)
class Claim(Command):
    number: int = 0


@dataclass(frozen=True)
class ChangeStatus(Command):
    number: int = 0
    status: str = ""
    note: str = ""


@dataclass(frozen=True)
class ChangePriority(Command):
    number: int = 0
    priority: str = ""


@dataclass(frozen=True)
class AddComment(Command):
    """A comment by number, or (number=0) a reply in a ticket's chat thread."""

    number: int = 0
    body: str = ""
    attachments: tuple[FileRef, ...] = ()


@dataclass(frozen=True)
class EditComment(Command):
    """An edited chat message: its comment gets the new body (source.message_id identifies it)."""

    body: str = ""


@dataclass(frozen=True)
class DeleteComment(Command):
    """A deleted chat message: its comment is marked deleted (source.message_id identifies it)."""


@dataclass(frozen=True)
class Watch(Command):
    number: int = 0


@dataclass(frozen=True)
class Unwatch(Command):
    number: int = 0


@dataclass(frozen=True)
class Search(Command):
    query: str = ""


@dataclass(frozen=True)
class Mine(Command):
    pass


@dataclass(frozen=True)
class Help(Command):
    topic: str = ""


@dataclass(frozen=True)
class SetFields(Command):
    """Set order fields (tracking numbers, address, compensation …) on a ticket."""

    number: int = 0
    fields: tuple[tuple[str, str], ...] = ()
