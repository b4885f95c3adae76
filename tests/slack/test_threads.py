"""Replies in a card's thread are comments: exactly once, with files, edits and deletions; bots ignored."""
from __future__ import annotations

import asyncio

import pytest

from tests.slack.driver import SlackDriver


async def new_card(slack: SlackDriver, text: str = "Fan is loud category:hardware") -> str:
    await slack.slash("UXIAOMEI", text)
    await slack.deliver()
    return slack.cards("CWAREHOUSE")[-1]["ts"]


@pytest.mark.asyncio
async def test_a_thread_reply_becomes_one_comment_however_often_slack_delivers_it(slack: SlackDriver) -> None:
    card = await new_card(slack)
    event = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "Which heatsink, black or white?")
    # Slack's retries: same event id, sequentially and while the first is still being handled
    for retry in range(3):
        assert (await slack.event(event, "EvSAME1", retry=retry)).status == 200
    answers = await asyncio.gather(*(slack.event(event, "EvSAME2", retry=r) for r in range(3)))
    assert {a.status for a in answers} == {200}
    # the same message under two other event ids (Slack does this too)
    await slack.event(event, "EvOTHER1")
    await slack.event(event, "EvOTHER2")
    [comment] = slack.ticket(1001).comments
    assert (comment.author, comment.body) == ("Lao Wang", "Which heatsink, black or white?")
    await slack.deliver()
    # it is already in this thread: nothing is mirrored back into it
    assert [m["text"] for m in slack.fake.thread("CWAREHOUSE", card)] == ["Which heatsink, black or white?"]


@pytest.mark.asyncio
async def test_concurrent_first_deliveries_under_different_event_ids_make_one_comment(slack: SlackDriver) -> None:
    card = await new_card(slack)
    event = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "On it")
    await asyncio.gather(*(slack.event(event, f"EvRACE{i}") for i in range(4)))
    assert [c.body for c in slack.ticket(1001).comments] == ["On it"]


@pytest.mark.asyncio
async def test_a_reply_with_a_file_adds_an_attachment(slack: SlackDriver) -> None:
    card = await new_card(slack)
    photo = slack.fake.add_file(b"\xff\xd8jpeg", "bsod-photo.jpg", user="UXIAOMEI", mimetype="image/jpeg")
    await slack.reply("UXIAOMEI", "CWAREHOUSE", card, "Customer's photo", files=[photo["id"]])
    t = slack.ticket(1001)
    assert [c.body for c in t.comments] == ["Customer's photo"]
    assert [(a.platform, a.file_id, a.name, a.mime_type) for a in t.attachments] == [
        ("slack", photo["id"], "bsod-photo.jpg", "image/jpeg")]


@pytest.mark.asyncio
async def test_a_file_slack_sends_only_by_id_is_looked_up(slack: SlackDriver) -> None:
    card = await new_card(slack)
    doc = slack.fake.add_file(b"%PDF", "invoice.pdf", user="UXIAOMEI", mimetype="application/pdf")
    event = slack.reply_event("UXIAOMEI", "CWAREHOUSE", card, "", files=[doc["id"]])
    event["files"] = [{"id": doc["id"], "mode": "file_access", "file_access": "check_file_info"}]
    await slack.event(event)
    [attachment] = slack.ticket(1001).attachments
    assert (attachment.name, attachment.mime_type) == ("invoice.pdf", "application/pdf")


@pytest.mark.asyncio
async def test_an_edited_reply_updates_its_comment_and_a_deleted_one_is_marked(slack: SlackDriver) -> None:
    card = await new_card(slack)
    first = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "Shipping tomorow")
    second = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "Wrong ticket, sorry")
    await slack.event(first)
    await slack.event(second)
    edited = {"type": "message", "subtype": "message_changed", "hidden": True, "channel": "CWAREHOUSE",
              "ts": slack.fake.next_ts(), "event_ts": "1", "channel_type": "channel",
              "message": {**{k: first[k] for k in ("type", "user", "ts", "thread_ts")}, "text": "Shipping tomorrow",
                          "edited": {"user": "ULAOWANG", "ts": slack.fake.next_ts()}},
              "previous_message": {k: first[k] for k in ("type", "user", "text", "ts", "thread_ts")}}
    await slack.event(edited)
    await slack.event(edited, retry=1)
    deleted = {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": "CWAREHOUSE",
               "ts": slack.fake.next_ts(), "deleted_ts": second["ts"], "event_ts": "2", "channel_type": "channel",
               "previous_message": {k: second[k] for k in ("type", "user", "text", "ts", "thread_ts")}}
    await slack.event(deleted)
    comments = slack.ticket(1001).comments
    assert [(c.body, c.edited, c.deleted) for c in comments] == [
        ("Shipping tomorrow", True, False), ("Wrong ticket, sorry", False, True)]


@pytest.mark.asyncio
async def test_bots_and_top_level_messages_are_not_comments(slack: SlackDriver) -> None:
    card = await new_card(slack)
    ours = {"type": "message", "channel": "CWAREHOUSE", "user": "UBOT", "bot_id": "B0001", "text": "notice",
            "ts": slack.fake.next_ts(), "thread_ts": card}
    other_bot = {"type": "message", "subtype": "bot_message", "channel": "CWAREHOUSE", "bot_id": "B0999",
                 "username": "CI", "text": "build green", "ts": slack.fake.next_ts(), "thread_ts": card}
    our_user_no_bot_id = {"type": "message", "channel": "CWAREHOUSE", "user": "UBOT", "text": "echo",
                          "ts": slack.fake.next_ts(), "thread_ts": card}
    top_level = {"type": "message", "channel": "CWAREHOUSE", "user": "ULAOWANG", "text": "lunch?",
                 "ts": slack.fake.next_ts()}
    joined = {"type": "message", "subtype": "channel_join", "channel": "CWAREHOUSE", "user": "UNEWBIE",
              "text": "<@UNEWBIE> has joined", "ts": slack.fake.next_ts(), "thread_ts": card}
    elsewhere = {"type": "message", "channel": "CSERVICE", "user": "UNEWBIE", "text": "not a ticket thread",
                 "ts": slack.fake.next_ts(), "thread_ts": slack.fake.next_ts()}
    for event in (ours, other_bot, our_user_no_bot_id, top_level, joined, elsewhere):
        assert (await slack.event(event)).status == 200
    assert slack.ticket(1001).comments == ()
    assert slack.fake.ephemerals() == []
    with slack.runtime.desk.uow() as uow:  # chatter elsewhere registers nobody
        assert uow.people.by_identity("slack", "T0001", "UNEWBIE") is None


@pytest.mark.asyncio
async def test_mentions_and_links_in_replies_are_stored_as_people_read_them(slack: SlackDriver) -> None:
    card = await new_card(slack)
    event = slack.reply_event("ULAOWANG", "CWAREHOUSE", card, "")
    event["text"] = "<@UAJIE> can you test it? 5 &lt; 6 &amp; <!channel> see <https://example.com/x|manual>"
    await slack.event(event)
    [comment] = slack.ticket(1001).comments
    assert comment.body == "@A-Jie can you test it? 5 < 6 & @channel see manual (https://example.com/x)"


@pytest.mark.asyncio
async def test_reacting_with_ticket_files_the_message_once_and_answers_in_its_thread(slack: SlackDriver) -> None:
    msg = slack.fake.add_message("CSERVICE", "Customer: keyboard arrived with a broken key\nOrder TB-55",
                                 "UXIAOMEI")
    reaction = {"type": "reaction_added", "user": "UBOSS", "reaction": "ticket", "item_user": "UXIAOMEI",
                "item": {"type": "message", "channel": "CSERVICE", "ts": msg["ts"]}, "event_ts": msg["ts"]}
    await slack.event(reaction, "EvR1")
    await slack.event(reaction, "EvR1", retry=1)
    await slack.event({**reaction, "user": "ULAOWANG"}, "EvR2")  # a second person reacts too
    await slack.event({**reaction, "reaction": "thumbsup"}, "EvR3")
    t = slack.ticket(1001)
    assert slack.ticket_count() == 1
    assert t.title == "Customer: keyboard arrived with a broken key" and t.reporter.name == "Manager Chen"
    assert t.description.startswith("Customer: keyboard arrived") and msg["ts"].replace(".", "") in t.description
    [answer] = slack.fake.thread("CSERVICE", msg["ts"])
    assert answer["text"].startswith("Created #1001: Customer: keyboard arrived with a broken key")
    await slack.deliver()
    assert len(slack.cards("CSERVICE")) == 1  # routed to the default group: customer service


@pytest.mark.asyncio
async def test_reaction_tickets_can_be_switched_off(tmp_path, clock, fake) -> None:
    import aiohttp

    from tests.slack.conftest import slack_runtime, started

    runtime = await started(slack_runtime(tmp_path, clock, fake, slack={"reaction_creates_ticket": False}))
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackDriver(runtime, fake, session)
            msg = fake.add_message("CSERVICE", "Keyboard broken", "UXIAOMEI")
            await slack.event({"type": "reaction_added", "user": "UBOSS", "reaction": "ticket",
                               "item": {"type": "message", "channel": "CSERVICE", "ts": msg["ts"]}})
            assert slack.ticket_count() == 0 and fake.thread("CSERVICE", msg["ts"]) == []
    finally:
        await runtime.stop()
