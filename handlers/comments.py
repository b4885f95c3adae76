"""Comments: by command, or by replying in a ticket's chat thread; edits and deletions follow."""
from __future__ import annotations

from handlers import notify
from handlers.changes import first_response
from handlers.commands import AddComment, ChatRef, DeleteComment, EditComment
from handlers.desk import Ctx, handles
from handlers.replies import Reply, UsageError, text
from handlers.texts import render
from store.models import Attachment, Comment, Ticket

MAX_COMMENT = 20000


def ticket_for_chat(ctx: Ctx, ref: ChatRef) -> Ticket | None:
    """The ticket a chat message belongs to: via its thread root, replied-to message or topic."""
    threads = ctx.uow.threads
    ticket_id = None
    if ref.thread_id:
        ticket_id = threads.ticket_for_message(ref.platform, ref.chat_id, ref.thread_id) or threads.ticket_for_topic(
            ref.platform, ref.chat_id, ref.thread_id
        )
    return ctx.uow.tickets.get(ticket_id, lock=True) if ticket_id else None


def _comment_by_source(ctx: Ctx, ref: ChatRef) -> Comment | None:
    if not ref.message_id:
        return None
    return ctx.uow.tickets.comment_by_source(ref.platform, ref.chat_id, ref.message_id)


@handles(AddComment)
def add_comment(ctx: Ctx, cmd: AddComment) -> Reply:
    if cmd.number:
        ticket = ctx.ticket(cmd.number)
    else:
        found = ticket_for_chat(ctx, cmd.source) if cmd.source else None
        if found is None:
            # A reply in a thread that is not a ticket's: not ours to record.
            return Reply(ignored=True)
        ticket = found
    body = cmd.body.strip()
    if not body and not cmd.attachments:
        raise UsageError("err_empty_comment")
    if len(body) > MAX_COMMENT:
        raise UsageError("err_too_long", field="comment", length=len(body), limit=MAX_COMMENT)
    src = cmd.source if (cmd.source and not cmd.number) else None
    comment = Comment(
        author_id=ctx.person.id, body=body, created_at=ctx.now,
        source_platform=src.platform if src else None, source_chat=src.chat_id if src else None,
        source_message_id=src.message_id if src else None,
    )
    ticket.comments.append(comment)
    ctx.uow.flush()
    for f in cmd.attachments:
        ticket.attachments.append(Attachment(platform=f.platform, file_id=f.file_id, name=f.name,
                                             mime_type=f.mime_type, comment_id=comment.id,
                                             added_by_id=ctx.person.id, created_at=ctx.now))
    files = " " + render("files_suffix", {"count": len(cmd.attachments)}) if cmd.attachments else ""
    ctx.audit(ticket, "comment", detail=(body[:200] + files).strip())
    first_response(ctx, ticket)
    was = ticket.status
    ctx.changed(ticket, "comment")  # may reopen a resolved ticket: the customer replied (SLA rebound)
    shown = (body or "📎") + files
    actor = notify.display(ctx.person)
    # The reply is already in its own thread: mirror it only to the ticket's other threads.
    notify.notice(ctx, ticket, "n_comment", {"actor": actor, "ref": f"#{ticket.number}", "body": shown},
                  skip_chat=(src.platform, src.chat_id) if src else None)
    if ctx.policy.notify_watchers:
        for w in ticket.watchers:
            notify.dm(ctx, w.person, ticket, "dm_comment",
                      {"actor": actor, "ref": f"#{ticket.number}", "title": ticket.title, "body": shown})
    texts = (text("commented", ref=f"#{ticket.number}"),)
    if ticket.status != was:
        texts += (text("reopened", ref=f"#{ticket.number}", count=ticket.reopen_count),)
    return Reply(texts=texts, ticket=ctx.view(ticket))


@handles(EditComment)
def edit_comment(ctx: Ctx, cmd: EditComment) -> Reply:
    comment = _comment_by_source(ctx, cmd.source) if cmd.source else None
    if comment is None or comment.body == cmd.body.strip():
        return Reply(ignored=True)
    old = comment.body
    comment.body = cmd.body.strip()[:MAX_COMMENT]
    comment.edited_at = ctx.now
    ctx.audit(comment.ticket, "comment_edited", "comment", old[:200], comment.body[:200])
    ctx.changed(comment.ticket, "comment")
    return Reply(ignored=True)


@handles(DeleteComment)
def delete_comment(ctx: Ctx, cmd: DeleteComment) -> Reply:
    comment = _comment_by_source(ctx, cmd.source) if cmd.source else None
    if comment is None or comment.deleted_at is not None:
        return Reply(ignored=True)
    comment.deleted_at = ctx.now
    ctx.audit(comment.ticket, "comment_deleted", "comment", comment.body[:200], "", system=False)
    ctx.changed(comment.ticket, "comment")
    return Reply(ignored=True)
