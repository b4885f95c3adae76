"""Tests for the fake Telegram Bot API server, driven by the REAL python-telegram-bot."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import warnings

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler

from .telegram_api import FakeTelegram, parse_html

GROUP = -1001
FORUM = -1002
USER = 42


@pytest.fixture
def fake():
    with FakeTelegram() as f:
        f.add_user(USER, "Alice", "alice")
        f.user_starts_bot(USER)
        f.add_chat(GROUP, "supergroup", "Support", bot_admin=True)
        f.add_chat(FORUM, "supergroup", "Tickets", is_forum=True, bot_admin=True)
        yield f


def make_bot(fake: FakeTelegram) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def retry_seconds(exc: RetryAfter) -> int:
    with warnings.catch_warnings():  # PTB 22 deprecation notice about int vs timedelta
        warnings.simplefilter("ignore")
        return int(exc.retry_after)


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


@pytest.mark.asyncio
async def test_get_me(fake):
    async with make_bot(fake) as bot:
        me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (999, True, "Afterdesk", "AfterdeskBot")
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False


@pytest.mark.asyncio
async def test_wrong_token_and_unknown_method(fake):
    async with make_bot(fake):
        pass
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=fake.base_url):
            pass
    bot = make_bot(fake)
    with pytest.raises(InvalidToken):  # PTB maps 404 Not Found to InvalidToken
        await bot.do_api_request("noSuchMethod")
    req = urllib.request.Request(fake.api_url("noSuchMethod"), data=b"")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 404
    assert json.loads(info.value.read()) == {"ok": False, "error_code": 404, "description": "Not Found"}


@pytest.mark.asyncio
async def test_html_message_with_keyboard_then_edit_in_place(fake):
    async with make_bot(fake) as bot:
        msg = await bot.send_message(
            GROUP,
            "Ticket <b>#7</b> opened by <i>Alice</i> &amp; co",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Close", "close:7"), ("Assign", "assign:7")),
        )
        # Telegram returns plain text + entities; PTB can rebuild the HTML
        assert msg.text == "Ticket #7 opened by Alice & co"
        assert [e.type for e in msg.entities] == [MessageEntity.BOLD, MessageEntity.ITALIC]
        assert msg.text_html == "Ticket <b>#7</b> opened by <i>Alice</i> &amp; co"
        assert msg.reply_markup.inline_keyboard[0][0].callback_data == "close:7"

        stored = fake.message(GROUP, msg.message_id)
        assert stored["from"]["id"] == 999 and stored["parse_mode"] == "HTML"
        assert stored["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "assign:7"

        # the user presses a button; the bot answers and edits the same message
        update = fake.user_presses(GROUP, msg.message_id, USER, "close:7")
        cq_id = update["callback_query"]["id"]
        assert await bot.answer_callback_query(cq_id, text="Closing")
        edited = await bot.edit_message_text(
            "Ticket <b>#7</b> closed", chat_id=GROUP, message_id=msg.message_id, parse_mode="HTML"
        )
        assert edited.message_id == msg.message_id and edited.edit_date is not None
        assert edited.reply_markup is None  # omitting reply_markup removes the keyboard

        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text(
                "Ticket <b>#7</b> closed", chat_id=GROUP, message_id=msg.message_id, parse_mode="HTML"
            )
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(cq_id)

    stored = fake.message(GROUP, msg.message_id)
    assert stored["text"] == "Ticket <b>#7</b> closed" and stored["plain_text"] == "Ticket #7 closed"
    assert stored["edit_history"][0]["plain_text"] == "Ticket #7 opened by Alice & co"
    assert len(fake.bot_messages(GROUP)) == 1
    assert fake.answered_callbacks[0]["text"] == "Closing"
    assert fake.answered_callbacks[0]["data"] == "close:7"
    with pytest.raises(ValueError):  # keyboard is gone: the button cannot be pressed any more
        fake.user_presses(GROUP, msg.message_id, USER, "close:7")


@pytest.mark.asyncio
async def test_reply_to_user_message(fake):
    upd = fake.user_sends(USER, USER, "my order #55 arrived broken")
    user_mid = upd["message"]["message_id"]
    async with make_bot(fake) as bot:
        reply = await bot.send_message(USER, "Sorry! Ticket opened.", reply_parameters=ReplyParameters(user_mid))
        assert reply.reply_to_message.message_id == user_mid
        assert reply.reply_to_message.text == "my order #55 arrived broken"
        with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
            await bot.send_message(USER, "x", reply_parameters=ReplyParameters(9999))
    assert [m["text"] for m in fake.replies_to(USER, user_mid)] == ["Sorry! Ticket opened."]


@pytest.mark.asyncio
async def test_send_photo_by_file_id_and_get_file(fake):
    upd = fake.user_sends(USER, USER, "see attached", photo=b"\xff\xd8JPEGDATA\r\n\x00\xff\xd9")
    photo_id = upd["message"]["photo"][-1]["file_id"]
    assert upd["message"]["caption"] == "see attached"
    async with make_bot(fake) as bot:
        sent = await bot.send_photo(GROUP, photo=photo_id, caption="<b>Customer photo</b>", parse_mode="HTML")
        assert sent.photo[-1].file_id == photo_id and sent.caption == "Customer photo"
        f = await bot.get_file(photo_id)
        assert f.file_path.startswith(fake.base_file_url + fake.token + "/")
        assert bytes(await f.download_as_bytearray()) == b"\xff\xd8JPEGDATA\r\n\x00\xff\xd9"

        # multipart upload round-trips bytes exactly
        doc = await bot.send_document(USER, document=b"line1\r\nline2\x00", filename="log.txt")
        df = await bot.get_file(doc.document.file_id)
        assert bytes(await df.download_as_bytearray()) == b"line1\r\nline2\x00"

        with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
            await bot.send_photo(GROUP, photo="nope")
        with pytest.raises(BadRequest, match="(?i)message caption is too long"):
            await bot.send_photo(GROUP, photo=photo_id, caption="x" * 1025)
    assert fake.bot_messages(GROUP)[-1]["photo"] == photo_id
    assert fake.bot_messages(USER)[-1]["document_name"] == "log.txt"


@pytest.mark.asyncio
async def test_forum_topic_then_send_into_it(fake):
    async with make_bot(fake) as bot:
        topic = await bot.create_forum_topic(FORUM, "Ticket #9")
        msg = await bot.send_message(FORUM, "Hello in topic", message_thread_id=topic.message_thread_id)
        assert msg.message_thread_id == topic.message_thread_id and msg.is_topic_message
        with pytest.raises(BadRequest, match="(?i)message thread not found"):
            await bot.send_message(FORUM, "x", message_thread_id=12345)
        fake.add_chat(-1003, "supergroup", "No rights", is_forum=True, bot_admin=False)
        with pytest.raises(BadRequest, match="(?i)not enough rights to create a topic"):
            await bot.create_forum_topic(-1003, "x")

    assert fake.topics(FORUM)[0]["name"] == "Ticket #9"
    assert [m["text"] for m in fake.bot_messages(FORUM, thread_id=topic.message_thread_id)] == ["Hello in topic"]
    # a user message inside the topic carries thread id + topic flag like real Telegram
    upd = fake.user_sends(FORUM, USER, "thanks", message_thread_id=topic.message_thread_id)
    assert upd["message"]["is_topic_message"] is True
    assert upd["message"]["reply_to_message"]["forum_topic_created"]["name"] == "Ticket #9"


@pytest.mark.asyncio
async def test_set_my_commands_recorded(fake):
    async with make_bot(fake) as bot:
        await bot.set_my_commands([BotCommand("ticket", "Open a ticket"), BotCommand("status", "Ticket status")])
        cmds = await bot.get_my_commands()
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert [c.command for c in cmds] == ["ticket", "status"]
    assert fake.registered_commands == [
        {"command": "ticket", "description": "Open a ticket"},
        {"command": "status", "description": "Ticket status"},
    ]
    assert len(fake.calls_to("setMyCommands")) == 2


@pytest.mark.asyncio
async def test_forbidden_errors(fake):
    fake.remove_bot_from(GROUP)
    fake.add_user(77, "Bob")
    fake.user_starts_bot(78)
    fake.user_blocks_bot(78)
    async with make_bot(fake) as bot:
        with pytest.raises(Forbidden, match="(?i)bot was kicked from the supergroup chat"):
            await bot.send_message(GROUP, "hi")
        with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
            await bot.send_message(77, "hi")
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(78, "hi")
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(-5555, "hi")
    assert fake.bot_messages(GROUP) == []


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter int->timedelta
async def test_rate_limit_raises_retry_after(fake):
    fake.rate_limit_next("sendMessage", retry_after=3, chat_id=GROUP)
    async with make_bot(fake) as bot:
        await bot.send_message(USER, "other chat is not affected")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(GROUP, "hi")
        assert retry_seconds(info.value) == 3
        await bot.send_message(GROUP, "second try works")
        fake.fail_next("sendMessage", 502, "Bad Gateway")
        with pytest.raises(Exception, match="(?i)Bad Gateway"):
            await bot.send_message(GROUP, "x")

        # enforced limits, 100x faster than real time
        fake.enforce_limits(per_chat_per_second=1.0, per_group_per_minute=None, global_per_second=None, time_scale=0.05)
        await bot.send_message(GROUP, "a")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(GROUP, "b")
        assert retry_seconds(info.value) == 1
        await asyncio.sleep(0.06)
        await bot.send_message(GROUP, "b")
    assert fake.rate_limited_count == 2
    assert fake.failed_calls[-1]["status"] == 429


@pytest.mark.asyncio
async def test_too_long_and_bad_html_raise_bad_request(fake):
    async with make_bot(fake) as bot:
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(GROUP, "x" * 4097)
        await bot.send_message(GROUP, "x" * 4096)
        for bad in ("<b>unclosed", "a < b", "<br>", "<b><i>x</b></i>", "fish & chips"):
            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await bot.send_message(GROUP, bad, parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(GROUP, "x", reply_markup=keyboard(("b", "d" * 65)))
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(GROUP, "Price: 5.00!", parse_mode="MarkdownV2")
    assert parse_html('<a href="https://x.io/?a=1&amp;b=2">l</a> <pre><code class="language-py">p</code></pre>') == (
        "l p",
        [
            {"type": "text_link", "offset": 0, "length": 1, "url": "https://x.io/?a=1&b=2"},
            {"type": "pre", "offset": 2, "length": 1, "language": "py"},
        ],
    )


@pytest.mark.asyncio
async def test_get_updates_offsets_and_bot_command(fake):
    fake.user_sends(USER, USER, "/ticket printer on fire")
    fake.user_sends(GROUP, USER, "plain group chatter")  # bot is admin: delivered
    fake.add_chat(-1009, "group", "Privacy", bot_admin=False)
    fake.user_sends(-1009, USER, "not for the bot")  # privacy mode: dropped
    async with make_bot(fake) as bot:
        updates = await bot.get_updates(timeout=0)
        assert len(updates) == 2
        first = updates[0]
        assert first.message.text == "/ticket printer on fire"
        assert first.message.entities[0].type == MessageEntity.BOT_COMMAND
        assert first.message.parse_entities([MessageEntity.BOT_COMMAND]) == {first.message.entities[0]: "/ticket"}
        assert first.message.from_user.username == "alice"

        again = await bot.get_updates(offset=first.update_id + 1, timeout=0)
        assert [u.update_id for u in again] == [updates[1].update_id]
        assert await bot.get_updates(offset=updates[1].update_id + 1, timeout=0) == ()

        # long poll wakes up as soon as a user writes
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, fake.user_sends, USER, USER, "late")
        t0 = loop.time()
        late = await bot.get_updates(offset=updates[1].update_id + 1, timeout=5)
        assert [u.message.text for u in late] == ["late"] and loop.time() - t0 < 0.9

        fake.user_edits(USER, late[0].message.message_id, "late (edited)")
        edited = await bot.get_updates(offset=late[0].update_id + 1, timeout=0)
        assert edited[0].edited_message.text == "late (edited)"
    assert len(fake.dropped_updates) == 1


@pytest.mark.asyncio
async def test_concurrent_sends_get_unique_increasing_ids(fake):
    async with make_bot(fake) as bot:
        sent = await asyncio.gather(*(bot.send_message(GROUP, f"m{i}") for i in range(30)))
    assert sorted(m.message_id for m in sent) == list(range(1, 31))
    assert len(fake.bot_messages(GROUP)) == 30


def test_webhook_state_and_next_update(fake):
    req = urllib.request.Request(
        fake.api_url("setWebhook"),
        data=json.dumps({"url": "https://desk.example.com/tg", "secret_token": "s3cret"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert json.loads(urllib.request.urlopen(req, timeout=5).read())["result"] is True
    assert fake.webhook["url"] == "https://desk.example.com/tg" and fake.webhook["secret_token"] == "s3cret"
    update = fake.next_update(USER, USER, "/start")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert fake.pending_updates == []
    assert fake.message(USER, update["message"]["message_id"])["text"] == "/start"


@pytest.mark.asyncio
async def test_application_polling_command_handler(fake):
    seen = []

    async def ticket(update, context):
        seen.append(context.args)
        await update.message.reply_text(f"Ticket created: {' '.join(context.args)}")

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("ticket", ticket))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        fake.user_sends(USER, USER, "/ticket hello")
        reply = await fake.async_wait_for(lambda: fake.last_bot_message(USER), timeout=5)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert seen == [["hello"]]
    assert reply["text"] == "Ticket created: hello"
    assert fake.pending_updates == []  # confirmed by PTB's final getUpdates
    assert "deleteWebhook" in [m for m, _ in fake.calls]
