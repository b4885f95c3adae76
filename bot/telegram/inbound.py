"""What happens when people write to the bot: commands, the guided form, replies as comments, edits, buttons.

Each handler translates (bot/telegram/translate.py), runs the core off the event loop (runtime.submit)
and answers in the same chat. Form state goes to the database between every two messages.
Group chatter is none of our business: a reply, topic message or edit reaches the core only when a
read-only look-up first finds that it belongs to a ticket (the core would register its author and
remember its dedup keys even to answer `ignored`).
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.telegram import form, render, translate
from bot.telegram.sender import TelegramSender
from bot.telegram.storage import TelegramStore
from bot.telegram.wording import plain, say
from handlers.commands import AddComment, ChatRef, Command, CreateTicket, EditComment
from handlers.replies import Reply, Text, UsageError

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

log = logging.getLogger("afterdesk.telegram")
CALLBACK_ANSWER_MAX = 200
# More options than this are typed, not offered as buttons (a keyboard holds at most 100).
FORM_BUTTONS_MAX = 24


class Inbound:
    def __init__(self, runtime: Runtime, sender: TelegramSender, store: TelegramStore, spec: form.FormSpec) -> None:
        self.runtime = runtime
        self.sender = sender
        self.store = store
        self.spec = spec

    def register(self, app: Application) -> None:
        """Text commands, then other new messages, edits and button presses."""
        new = filters.UpdateType.MESSAGE
        app.add_handler(CommandHandler(translate.COMMANDS, self.on_command, filters=new))
        app.add_handler(MessageHandler(new & ~filters.COMMAND, self.on_message))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.on_edit))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_error_handler(self.on_error)

    # ------------------------------------------------------------------ handlers

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        split = translate.split_command(msg.text or "", context.bot.username) if msg else None
        if msg and split:
            await self._command(update, msg, *split)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        if msg is None or msg.from_user is None or msg.from_user.is_bot:
            return
        split = translate.split_command(msg.caption or "", context.bot.username)
        if split and split[0] in translate.COMMANDS:  # a photo or file captioned "/ticket …"
            await self._command(update, msg, *split)
            return
        chat, user = str(msg.chat.id), str(msg.from_user.id)
        state = await asyncio.to_thread(self.store.load_form, chat, user)
        if state is not None and _answers_form(msg, state):
            await self._form_answer(update, msg, state)
            return
        cmd = translate.comment_for(msg, update.update_id)
        if cmd is not None and await self._in_ticket_thread(cmd):
            reply = await self._submit(cmd)
            if not reply.ignored:
                if not reply.ok:
                    await self._answer(msg, render.reply_html(reply))
                return
        if msg.chat.type == "private":
            await self._answer(msg, say("tg_private_hint"))

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.edited_message
        cmd = translate.edit_for(msg, update.update_id) if msg else None
        if cmd is not None and await self._edits_a_comment(cmd):
            await self._submit(cmd)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        action = translate.callback_for(query, update.update_id)
        if isinstance(action, translate.FormPress):
            await self._form_press(update, action)
            return
        if action is None:
            await self._callback_answer(query.id, plain("tg_button_gone"), alert=True)
            return
        reply = await self._submit(action)
        if reply.duplicate:
            return  # the first delivery answered it
        text = "\n".join(plain(t.key, **t.params) for t in reply.texts)
        await self._callback_answer(query.id, text, alert=not reply.ok)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: handling update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)

    # ------------------------------------------------------------------ commands

    async def _command(self, update: Update, msg: Message, name: str, rest: str) -> None:
        try:
            action = translate.command_for(name, rest, msg, update.update_id)
        except UsageError as err:
            await self._answer(msg, say(err.text.key, dict(err.text.params)))
            return
        if isinstance(action, translate.StartForm):
            await self._form_start(msg)
        elif isinstance(action, translate.CancelForm):
            await self._form_cancel(msg)
        elif isinstance(action, translate.Greet) and msg.from_user:
            # Nothing to record: opening the bot only lets it message them (people come from the
            # config, or from writing on a ticket in a group's chat). Their id is for the config.
            await self._answer(msg, say("tg_start", {"name": msg.from_user.first_name, "id": msg.from_user.id}))
        elif isinstance(action, translate.ChatInfo):
            await self._answer(msg, say("tg_chat_id", {"chat": msg.chat.id, "title": msg.chat.title or ""})
                               + "\n\n" + say("help"))
        elif action is not None:
            reply = await self._submit(action)
            if not (reply.duplicate or reply.ignored):
                await self._answer(msg, render.reply_html(reply))

    async def _in_ticket_thread(self, cmd: AddComment) -> bool:
        """Whether a reply or topic message belongs to a ticket (read-only, off the event loop)."""
        src = cmd.source
        if src is None or not src.thread_id:
            return False
        return await asyncio.to_thread(self.store.is_ticket_thread, src.chat_id, src.thread_id)

    async def _edits_a_comment(self, cmd: EditComment) -> bool:
        """Whether an edited message is a ticket's comment (read-only, off the event loop)."""
        src = cmd.source
        if src is None or not src.message_id:
            return False
        return await asyncio.to_thread(self.store.is_comment, src.chat_id, src.message_id)

    async def _submit(self, cmd: Command) -> Reply:
        try:
            return await self.runtime.submit(cmd)
        except Exception:  # the core already rolled back; tell the person instead of going silent
            log.exception("telegram: %s failed", type(cmd).__name__)
            return Reply(texts=(Text("err_internal"),), ok=False)

    async def _answer(self, msg: Message, html: str, markup: Any = None, reply_to: int | None = None) -> int | None:
        return await self.sender.answer(str(msg.chat.id), html, reply_to=reply_to or msg.message_id,
                                        thread=translate.topic_of(msg), markup=markup)

    async def _callback_answer(self, query_id: str, text: str, alert: bool = False) -> None:
        try:
            await self.sender.bot.answer_callback_query(query_id, render.shorten(text, CALLBACK_ANSWER_MAX),
                                                        show_alert=alert)
        except TelegramError as exc:  # too old, or answered already (a redelivered update)
            log.info("telegram: could not answer button press %s: %s", query_id, exc.message)

    # ------------------------------------------------------------------ the guided form

    async def _form_start(self, msg: Message) -> None:
        chat, user = str(msg.chat.id), str(msg.from_user.id)  # type: ignore[union-attr]
        old = await asyncio.to_thread(self.store.load_form, chat, user)
        if old is not None and form.is_stale(old, msg.message_id):
            return  # this very /ticket was handled before
        state = form.start(translate.topic_of(msg), msg.message_id)
        await self._ask(msg, state, reply_to=msg.message_id)

    async def _form_cancel(self, msg: Message) -> None:
        chat, user = str(msg.chat.id), str(msg.from_user.id)  # type: ignore[union-attr]
        state = await asyncio.to_thread(self.store.load_form, chat, user)
        if state is None:
            await self._answer(msg, say("tg_form_none"))
            return
        await asyncio.to_thread(self.store.delete_form, chat, user)
        await self._answer(msg, say("tg_form_cancelled"))

    async def _form_answer(self, update: Update, msg: Message, state: dict[str, Any]) -> None:
        if form.is_stale(state, msg.message_id):
            return  # a redelivered answer
        outcome = form.answer(state, translate.body_of(msg), self.spec, msg.message_id)
        await self._form_next(update, msg, outcome, reply_to=msg.message_id)

    async def _form_press(self, update: Update, press: translate.FormPress) -> None:
        query = update.callback_query
        presser, step = str(query.from_user.id), press.step
        if press.owner != presser:
            await self._callback_answer(query.id, plain("tg_form_not_yours"), alert=True)
            return
        msg = query.message
        state = await asyncio.to_thread(self.store.load_form, str(msg.chat.id), presser)
        outcome = form.press(state, step, press.choice, self.spec) if state else None
        usable = isinstance(msg, Message) and state is not None and state.get("ask_id") == msg.message_id
        if outcome is None or not usable:
            await self._callback_answer(query.id, plain("tg_form_gone"), alert=True)
            return
        chosen = outcome.values if outcome.finished else outcome.state["values"]  # type: ignore[index]
        await self._callback_answer(query.id, chosen.get(step, plain("tg_form_skip")))
        try:  # the question's buttons are used up
            await self.sender.bot.edit_message_reply_markup(msg.chat.id, msg.message_id, reply_markup=None)
        except TelegramError as exc:
            log.info("telegram: could not clear the form buttons: %s", exc.message)
        await self._form_next(update, msg, outcome, reply_to=msg.message_id, user=query.from_user)

    async def _form_next(self, update: Update, msg: Message, outcome: form.Outcome, reply_to: int,
                         user: Any = None) -> None:
        """Ask the next question, or create the ticket when the last one is answered."""
        who = user or msg.from_user
        chat, uid = str(msg.chat.id), str(who.id)
        if not outcome.finished:
            assert outcome.state is not None
            await self._ask(msg, outcome.state, reply_to=reply_to, error=outcome.error, user_id=uid)
            return
        values = dict(outcome.values or {})
        cmd = CreateTicket(translate.actor_of(who), **values,  # type: ignore[arg-type]
                           source=ChatRef(translate.PLATFORM, chat, None, str(msg.message_id)),
                           dedup_keys=(f"telegram:update:{update.update_id}", f"telegram:form:{chat}:{msg.message_id}"))
        reply = await self._submit(cmd)
        await asyncio.to_thread(self.store.delete_form, chat, uid)
        if not reply.duplicate:
            await self._answer(msg, render.reply_html(reply), reply_to=reply_to)

    async def _ask(self, msg: Message, state: dict[str, Any], reply_to: int, error: Text | None = None,
                   user_id: str | None = None) -> None:
        uid = user_id or str(msg.from_user.id)  # type: ignore[union-attr]
        step = state["step"]
        text = say(f"tg_form_{step}")
        if error is not None:
            text = say(error.key, dict(error.params)) + "\n" + text
        options = form.choices(step, self.spec)
        markup: InlineKeyboardMarkup | ForceReply
        if 0 < len(options) <= FORM_BUTTONS_MAX:
            buttons = [InlineKeyboardButton(o, callback_data=form.button_data(uid, step, i))
                       for i, o in enumerate(options)]
            buttons.append(InlineKeyboardButton(plain("tg_form_skip"),
                                                callback_data=form.button_data(uid, step, form.SKIP_DATA)))
            markup = InlineKeyboardMarkup([buttons[i:i + 3] for i in range(0, len(buttons), 3)])
        else:
            markup = ForceReply(selective=True)
        ask_id = await self.sender.answer(str(msg.chat.id), text, reply_to=reply_to, thread=state.get("thread"),
                                          markup=markup)
        await asyncio.to_thread(self.store.save_form, str(msg.chat.id), uid, {**state, "ask_id": ask_id})


def _answers_form(msg: Message, state: dict[str, Any]) -> bool:
    """A reply to the form's question, or a plain (non-reply) message where the form runs."""
    replied = msg.reply_to_message
    if replied is not None and replied.message_id == state.get("ask_id"):
        return True
    topic = translate.topic_of(msg)
    plain_message = replied is None or (topic is not None and replied.message_id == topic)
    return plain_message and topic == state.get("thread")
