"""The pure parts: Slack wire text → typed text → commands, and tickets → escaped mrkdwn within limits."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.slack import forms, render, translate
from handlers.commands import Actor, AddComment, CreateTicket, DeleteComment, EditComment, FileRef
from handlers.replies import Reply, Text, UsageError
from handlers.views import ClockView, PersonView, TicketView

AT = datetime(2026, 11, 12, 1, 30, tzinfo=UTC)


def view(**kw: object) -> TicketView:
    base = dict(number=1001, title="PC blue-screens", status="open", priority="high", group="warehouse",
                group_name="Warehouse", reporter=PersonView("xiaomei", "Xiaomei", {"slack": "UXIAOMEI"}),
                assignee=PersonView("tom", "Tom <admin>", {}), created_at=AT, updated_at=AT)
    base.update(kw)
    return TicketView(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("wire", "typed"), [
    ("a &lt;b&gt; &amp;amp; c", "a <b> &amp; c"),
    ("ping <@U123> and <@W9|ann>", "ping @U123 and @W9"),
    ("<!here> <!channel> <!subteam^S1|@ops> <!subteam^S2>", "@here @channel @ops @S2"),
    ("in <#C1|general> and <#C2>", "in #general and #C2"),
    ("see <https://x.io/a?b=1&amp;c=2|docs> and <https://x.io>", "see docs (https://x.io/a?b=1&c=2) and https://x.io"),
    ("<mailto:a@b.c|a@b.c>", "mailto:a@b.c"),
])
def test_plain_text_turns_wire_format_back_into_what_was_typed(wire: str, typed: str) -> None:
    assert translate.plain_text(wire) == typed


def test_mentions_become_names_when_known_and_are_vouched_for() -> None:
    assert translate.plain_text("<@U1> and <@U2>", {"U1": "Lao Wang"}) == "@Lao Wang and @U2"
    assert translate.mentioned_users("<@U1> <@U2|x> <@U1>") == ("U1", "U2")
    cmd = translate.slash_command("assign 1001 <@UNEW|newbie>", Actor("slack", "U0", "T1"), "C1")
    assert cmd.assignee == "@UNEW" and cmd.known_users == (Actor("slack", "UNEW", "T1"),)


def test_slash_grammar_errors_are_the_cores() -> None:
    with pytest.raises(UsageError) as err:
        translate.slash_command("priority 1001 sky-high", Actor("slack", "U0", "T1"), "C1")
    assert err.value.text.key == "err_unknown_priority"
    assert translate.wants_form("") and translate.wants_form(" New ") and not translate.wants_form("new PSU")


def test_thread_replies_edits_and_deletions_become_comment_commands() -> None:
    reply = {"type": "message", "channel": "C1", "user": "U1", "text": "hi &amp; bye", "ts": "2.0",
             "thread_ts": "1.0", "files": [{"id": "F1", "name": "a.png", "mimetype": "image/png"}]}
    cmd = translate.message_command(reply, "Ev1", "T1", "UBOT")
    assert isinstance(cmd, AddComment) and cmd.number == 0 and cmd.body == "hi & bye"
    assert cmd.dedup_keys == ("slack:event:Ev1", "slack:msg:C1:2.0")
    assert cmd.source.chat_id == "C1" and cmd.source.thread_id == "1.0" and cmd.source.message_id == "2.0"
    assert cmd.attachments == (FileRef("slack", "F1", "a.png", "image/png"),)
    edit = translate.message_command({"subtype": "message_changed", "channel": "C1", "ts": "3.0", "message": {
        **reply, "text": "hello", "edited": {"ts": "3.0"}}}, "Ev2", "T1", "UBOT")
    assert isinstance(edit, EditComment) and edit.body == "hello" and edit.source.message_id == "2.0"
    gone = translate.message_command({"subtype": "message_deleted", "channel": "C1", "deleted_ts": "2.0",
                                      "previous_message": reply}, "Ev3", "T1", "UBOT")
    assert isinstance(gone, DeleteComment) and gone.source.message_id == "2.0" and gone.actor.user_id == "U1"
    for ignored in ({**reply, "thread_ts": "2.0"}, {**reply, "thread_ts": None}, {**reply, "bot_id": "B1"},
                    {**reply, "user": "UBOT"}, {**reply, "subtype": "channel_join"},
                    {"subtype": "message_changed", "message": {**reply, "bot_id": "B1"}}):
        assert translate.message_command(ignored, "Ev", "T1", "UBOT") is None


def test_a_message_becomes_a_ticket_with_a_short_title_and_a_link() -> None:
    long = "word " * 60
    cmd = translate.ticket_from_message({"text": long + "\nmore", "ts": "5.0"}, "C1", Actor("slack", "U1", "T"),
                                        "https://x/p5")
    assert isinstance(cmd, CreateTicket) and len(cmd.title) <= translate.TITLE_LIMIT and cmd.title.endswith("…")
    assert cmd.description.endswith("more\n\nhttps://x/p5")
    only_file = translate.ticket_from_message({"text": "", "ts": "6", "files": [{"id": "F1", "name": "x.jpg"}]},
                                              "C1", Actor("slack", "U1"))
    assert only_file.title == "📎 x.jpg"
    assert translate.reaction_matches({"reaction": "ticket::skin-tone-2", "item": {"type": "message", "ts": "1"}},
                                      ":ticket:")
    assert not translate.reaction_matches({"reaction": "ticket", "item": {"type": "file", "ts": "1"}}, "ticket")


def test_escape_neutralizes_links_mentions_and_broadcasts() -> None:
    shown = render.escape("<!channel> <@U1> <http://x|y> & @here @Everyone")
    assert shown == ("&lt;!channel&gt; &lt;@U1&gt; &lt;http://x|y&gt; &amp; @\u2060here @\u2060Everyone")


@pytest.mark.parametrize("limit", range(1, 30))
def test_cut_never_leaves_half_an_entity_or_link(limit: int) -> None:
    text = "ab &amp; <@U123> &lt;x&gt;" * 2
    out = render.cut(text, limit, "…")
    assert len(out) <= max(limit, 1) and out.endswith("…") or out == text
    body = out.removesuffix("…")
    assert not body.rstrip().endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "<", "<@", "<@U1"))


def test_card_stays_within_block_kit_limits_and_shows_sla_in_the_readers_zone() -> None:
    huge = "x" * 5000
    v = view(title=huge[:300], order_no=huge, customer_name=huge, customer_handle=huge, category="c", product="p",
             shipping_address=huge, replacement_tracking=huge, return_tracking=huge, rma=huge, compensation="1.00",
             clocks=(ClockView("first response", "running", due=AT),))
    blocks = render.card_blocks(v)
    assert len(blocks) <= render.MAX_BLOCKS
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    assert len(fields) == 10 and all(len(f) <= render.FIELD_LIMIT for f in fields)
    assert fields[0].endswith("… see /ticket show 1001")
    assert all(len(b["text"]["text"]) <= render.SECTION_LIMIT for b in blocks if b.get("text"))
    sla = blocks[3]["elements"][0]["text"]
    assert sla.startswith("SLA first response: running (due <!date^") and "|2026-11-12 01:30 UTC>" in sla
    people = blocks[2]["elements"][0]["text"]
    assert people == "Group: Warehouse · Assignee: Tom &lt;admin&gt; · Reporter: <@UXIAOMEI>"
    assert len(json.dumps(render.card_message(v))) < 40000


def test_closed_cards_offer_reopen_but_no_claim() -> None:
    actions = render.card_actions(view(status="closed", reopen_count=2))
    assert [e["action_id"] for e in actions["elements"]] == ["ticket_assign", "ticket_status"]
    assert [o["value"] for o in actions["elements"][1]["options"]] == ["open", "closed"]
    assert "REBOUND ×2" in render.headline(view(reopen_count=2))


def test_replies_render_texts_lists_and_details() -> None:
    reply = Reply(texts=(Text("search_results", {"count": 1, "query": "<x>"}),), tickets=(view(),))
    assert render.reply_text(reply) == ("1 ticket(s) match '&lt;x&gt;':\n"
                                        "• 🔧 *#1001* [open] PC blue-screens — Tom &lt;admin&gt;")
    assert render.mrkdwn(Text("help")).count("&lt;summary&gt;") == 1


def test_form_values_checks_and_core_errors_map_to_fields() -> None:
    state = {"title": {"value": {"type": "plain_text_input", "value": " Fan "}},
             "priority": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
             "assignee": {"value": {"type": "users_select", "selected_user": "U9"}},
             "group": {"value": {"type": "static_select", "selected_option": None}}}
    values = forms.read_values(state)
    assert values == {"title": "Fan", "priority": "high", "assignee": "U9"}
    assert forms.check(values) == {}
    assert set(forms.check({"title": "", "customer_name": "x" * 201})) == {"title", "customer_name"}
    meta = {"source": {"channel": "C1", "ts": "1.0"}, "files": [["F1", "a.png", "image/png"]]}
    cmd = forms.to_command(values, Actor("slack", "U1", "T1"), forms.unpack_meta(forms.pack_meta(meta)), "V1")
    assert (cmd.assignee, cmd.known_users, cmd.dedup_keys) == ("@U9", (Actor("slack", "U9", "T1"),),
                                                               ("slack:view:V1",))
    assert cmd.attachments == (FileRef("slack", "F1", "a.png", "image/png"),) and cmd.source.message_id == "1.0"
    refused = Reply(texts=(Text("err_unknown_person", {"mention": "@U9"}),), ok=False)
    assert list(forms.errors_for(refused)) == ["assignee"]
    assert forms.errors_for(Reply(texts=(Text("err_internal"),), ok=False)) == {}
    many = {"files": [[f"F{i}", "n" * 100, "image/png"] for i in range(100)]}
    assert len(forms.pack_meta(many)) <= forms.META_MAX
