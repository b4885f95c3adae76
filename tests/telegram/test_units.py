"""Pure parts of the Telegram adapter: translation, HTML rendering and cutting, the form state machine."""
from __future__ import annotations

from datetime import datetime, UTC

import pytest
from telegram import Update

from bot.telegram import form, render, translate
from handlers.commands import AddComment, ChangeStatus, Claim, CreateTicket, ShowTicket
from handlers.replies import Reply, Text, UsageError
from handlers.views import CommentView, PersonView, TicketView
from tests.fakes.telegram_api import parse_html

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
USER = {"id": 1001, "is_bot": False, "first_name": "Xiaomei", "username": "xiaomei_cs"}
GROUP = {"id": -100200, "type": "supergroup", "title": "Warehouse"}


def message(text: str | None = None, **extra) -> tuple[Update, int]:
    data = {"message_id": 7, "date": 0, "chat": GROUP, "from": USER, **extra}
    if text is not None:
        data["text"] = text
    return Update.de_json({"update_id": 501, "message": data}, None), 501


def view(**kw) -> TicketView:
    base = dict(number=1001, title="PC", status="open", priority="high", group="warehouse", group_name="Warehouse",
                reporter=PersonView("xiaomei", "Xiaomei", {"telegram": "1001"}), assignee=None,
                created_at=NOW, updated_at=NOW)
    return TicketView(**{**base, **kw})


def test_commands_addressed_to_us_and_aliases():
    assert translate.split_command("/ticket@AfterdeskBot show 1001", "AfterdeskBot") == ("ticket", "show 1001")
    assert translate.split_command("/ticket@afterdeskbot\nshow 1001", "AfterdeskBot") == ("ticket", "show 1001")
    assert translate.split_command("/ticket@OtherBot show 1001", "AfterdeskBot") is None
    assert translate.split_command("hello /ticket", "AfterdeskBot") is None
    update, uid = message("/show 1001")
    cmd = translate.command_for("show", "1001", update.message, uid)
    assert isinstance(cmd, ShowTicket) and cmd.number == 1001
    assert cmd.actor.user_id == "1001" and cmd.actor.username == "xiaomei_cs" and cmd.actor.platform == "telegram"
    assert cmd.dedup_keys == ("telegram:update:501", "telegram:msg:-100200:7")
    assert isinstance(translate.command_for("ticket", "", update.message, uid), translate.StartForm)
    assert isinstance(translate.command_for("new", "", update.message, uid), translate.StartForm)
    created = translate.command_for("new", "Blue screen order:1", update.message, uid)
    assert isinstance(created, CreateTicket) and (created.title, created.order_no) == ("Blue screen", "1")
    with pytest.raises(UsageError) as bad:
        translate.command_for("ticket", "status 1001 done", update.message, uid)
    assert bad.value.text.key == "err_unknown_status"


def test_photos_documents_replies_and_topics():
    photo = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 68},
             {"file_id": "large", "file_unique_id": "l", "width": 800, "height": 600}]
    update, uid = message(caption="/ticket Cracked screen", photo=photo)
    cmd = translate.command_for("ticket", "Cracked screen", update.message, uid)
    assert [(f.file_id, f.mime_type) for f in cmd.attachments] == [("large", "image/jpeg")]
    card = {"message_id": 3, "date": 0, "chat": GROUP, "from": {"id": 999, "is_bot": True, "first_name": "Bot"}}
    update, uid = message(document={"file_id": "doc", "file_unique_id": "d", "file_name": "log.txt",
                                    "mime_type": "text/plain"}, reply_to_message=card)
    comment = translate.comment_for(update.message, uid)
    assert isinstance(comment, AddComment) and comment.number == 0 and comment.body == ""
    assert comment.source.thread_id == "3" and comment.source.message_id == "7"
    assert [(f.file_id, f.name) for f in comment.attachments] == [("doc", "log.txt")]
    # in a forum topic the topic is the thread, whatever the message replies to
    forum = {**GROUP, "is_forum": True}
    update, uid = message("Swapped", chat=forum, message_thread_id=40, is_topic_message=True,
                          reply_to_message={**card, "chat": forum, "message_id": 40})
    assert translate.comment_for(update.message, uid).source.thread_id == "40"
    # a plain message in an ordinary group belongs to no ticket
    update, uid = message("hello")
    assert translate.comment_for(update.message, uid) is None


def test_buttons_translate_and_fit_in_64_bytes():
    big = view(number=999999999, status="new")
    data = [b.callback_data for row in render.keyboard(big).inline_keyboard for b in row]
    assert max(len(d.encode()) for d in data) <= 64
    query = {"id": "42", "from": USER, "chat_instance": "x", "data": "s:1001:resolved",
             "message": {"message_id": 3, "date": 0, "chat": GROUP}}
    update = Update.de_json({"update_id": 9, "callback_query": query}, None)
    cmd = translate.callback_for(update.callback_query, 9)
    assert isinstance(cmd, ChangeStatus) and (cmd.number, cmd.status) == (1001, "resolved")
    assert cmd.dedup_keys == ("telegram:update:9", "telegram:callback:42")
    for data, expected in (("c:1001", Claim), ("s:1001:bogus", type(None)), ("zz", type(None))):
        update = Update.de_json({"update_id": 9, "callback_query": {**query, "data": data}}, None)
        assert isinstance(translate.callback_for(update.callback_query, 9), expected)
    update = Update.de_json({"update_id": 9, "callback_query": {**query, "data": "f:1001:category:2"}}, None)
    assert translate.callback_for(update.callback_query, 9) == translate.FormPress("1001", "category", "2")


def test_user_text_is_escaped_everywhere():
    v = view(title="<b>Boss</b> & Co", customer_name="A&B <script>", order_no="1 < 2")
    html = render.card_html(v)
    assert "<b>Boss</b>" not in html and "&lt;b&gt;Boss&lt;/b&gt; &amp; Co" in html
    plain, _ = parse_html(html)  # Telegram parses it: no broken entity, user text intact
    assert "#1001 <b>Boss</b> & Co" in plain and "Customer: A&B <script>" in plain and "Order: 1 < 2" in plain
    note = render.text_html(Text("n_comment", {"actor": "<i>x</i>", "ref": "#1", "body": "a & b"}))
    assert note == "&lt;i&gt;x&lt;/i&gt; on #1: a &amp; b"
    assert render.mention("<Lao> Wang", "1002") == '<a href="tg://user?id=1002">&lt;Lao&gt; Wang</a>'


def test_long_messages_are_cut_to_4096_utf16_units_with_a_pointer():
    body = "🔥&<" * 3000  # emoji count 2 each; escaping triples the rest
    html = render.text_html(Text("n_comment", {"actor": "A", "ref": "#1001", "body": body}), 1001)
    plain, _ = parse_html(html)
    assert render.tg_len(plain) <= 4096 and plain.endswith("\n… /ticket show 1001")
    assert plain.startswith("A on #1001: 🔥&<🔥&<")
    comments = tuple(CommentView("A-Jie", f"{i} " + "x" * 590, NOW) for i in range(20))
    shown = render.reply_html(Reply(ticket=view(comments=comments, description="d" * 5000), detail=True))
    plain, _ = parse_html(shown)
    assert render.tg_len(shown) <= 4096 and "earlier comment(s) not shown" in plain and "19 xxx" in plain
    assert render.fit(["a" * 5000], "…") .endswith("\n…") and len(render.fit(["a" * 5000], "…")) <= 4096
    assert render.tg_len(render.fit(["x" * 1000, "y" * 100], "… more", render.MAX_CAPTION)) <= 1024


def test_form_state_machine():
    spec = form.FormSpec(categories=("hardware", "refund"), limits={"order_no": 5})
    state = form.start(thread_id=None, message_id=10)
    out = form.answer(state, "skip", spec, 11)
    assert out.error == Text("tg_form_need_title") and out.state["step"] == "title"
    out = form.answer(out.state, "  Blue   screen ", spec, 12)
    assert out.state["step"] == "order_no" and out.state["values"] == {"title": "Blue screen"}
    assert form.is_stale(out.state, 12) and not form.is_stale(out.state, 13)
    too_long = form.answer(out.state, "123456", spec, 13)
    assert too_long.error.key == "tg_form_too_long" and too_long.state["step"] == "order_no"
    state = out.state
    for text in ("12345", "-", "跳过", "skip"):
        state = form.answer(state, text, spec, 20).state
    assert state["step"] == "category"
    assert form.answer(state, "toys", spec).error.params == {"value": "toys", "allowed": "hardware, refund"}
    assert form.press(state, "priority", "0", spec) is None  # a button of another step
    assert form.press(state, "category", "7", spec) is None
    state = form.press(state, "category", "1", spec).state
    assert state["values"]["category"] == "refund" and state["step"] == "product"
    state = form.answer(state, "Gaming PC", spec).state  # no products configured: free text
    done = form.answer(state, "P1", spec)
    assert done.finished and done.values == {"title": "Blue screen", "order_no": "12345", "category": "refund",
                                             "product": "Gaming PC", "priority": "urgent"}


def test_times_on_a_ticket_are_shown_in_the_desk_zone():
    comment = CommentView(author="Lao Wang", body="Swap shipped", at=datetime(2026, 11, 14, 2, 34, tzinfo=UTC))
    shanghai = "\n".join(render.detail_lines(view(comments=(comment,), timezone="Asia/Shanghai")))
    assert "2026-11-14 10:34 CST <b>Lao Wang</b>: Swap shipped" in shanghai
    assert "2026-11-14 02:34 UTC" in "\n".join(render.detail_lines(view(comments=(comment,))))
