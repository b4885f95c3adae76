"""The card: buttons change the ticket, the card is updated in place, its thread reads as the history."""
from __future__ import annotations

import pytest

from tests.slack.driver import SlackDriver


def card_text(card: dict) -> str:
    parts = [card.get("text", "")]
    for block in card["blocks"]:
        if block.get("text"):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(parts)


async def routed_to_service(slack: SlackDriver) -> str:
    """A ticket nobody is assigned to yet (customer service has no default assignee)."""
    await slack.slash("UXIAOMEI", "Customer asks for an invoice order:TB-1")
    await slack.deliver()
    [card] = slack.cards("CSERVICE")
    return card["ts"]


@pytest.mark.asyncio
async def test_claim_button_updates_the_card_in_place_and_leaves_a_notice(slack: SlackDriver) -> None:
    card = await routed_to_service(slack)
    assert "NEW" in card_text(slack.fake.message("CSERVICE", card))
    answer = await slack.click("UXIAOMEI", "CSERVICE", card, "ticket_claim")
    assert answer.status == 200 and answer.body == ""
    assert answer.responses == [{"text": "You took #1001.", "response_type": "ephemeral",
                                 "replace_original": False}]
    await slack.deliver()
    [updated] = slack.cards("CSERVICE")  # still one card …
    assert updated["ts"] == card and "edited" in updated  # … changed by chat.update
    assert "OPEN" in card_text(updated) and "Assignee: <@UXIAOMEI>" in card_text(updated)
    assert [m["text"] for m in slack.fake.thread("CSERVICE", card)] == ["Xiaomei took #1001."]
    assert slack.fake.calls_to("chat.update")[-1]["ts"] == card


@pytest.mark.asyncio
async def test_status_select_and_assign_picker_change_the_ticket(slack: SlackDriver) -> None:
    card = await routed_to_service(slack)
    await slack.click("UBOSS", "CSERVICE", card, "ticket_assign", "UAJIE")
    await slack.deliver()
    await slack.click("UAJIE", "CSERVICE", card, "ticket_status", "waiting")
    await slack.deliver()
    t = slack.ticket(1001)
    assert (t.status, t.assignee.name) == ("waiting", "A-Jie")
    updated = slack.fake.message("CSERVICE", card)
    assert "WAITING" in card_text(updated)
    [actions] = [b for b in updated["blocks"] if b["type"] == "actions"]
    assert actions["elements"][1]["initial_user"] == "UAJIE"
    assert actions["elements"][2]["initial_option"]["value"] == "waiting"
    assert [m["text"] for m in slack.fake.thread("CSERVICE", card)] == [
        "Manager Chen assigned #1001 to A-Jie.", "A-Jie set #1001 to waiting."]
    # A-Jie got the assignment DM, the reporter the status DM; nobody is told about their own action
    assert [m["text"].split(":")[0] for m in slack.fake.dms("UAJIE")] == ["Manager Chen assigned you <https"]
    assert [m["text"] for m in slack.fake.dms("UXIAOMEI")][-1].endswith("is now waiting — by A-Jie.")
    assert slack.fake.dms("UBOSS") == []


@pytest.mark.asyncio
async def test_a_refused_button_press_is_explained_only_to_the_presser(slack: SlackDriver) -> None:
    card = await routed_to_service(slack)
    await slack.click("UXIAOMEI", "CSERVICE", card, "ticket_claim")
    answer = await slack.click("UXIAOMEI", "CSERVICE", card, "ticket_claim")
    assert answer.responses[0]["text"] == "#1001 is already assigned to Xiaomei."
    assert answer.responses[0]["response_type"] == "ephemeral"
    await slack.deliver()
    assert len(slack.fake.thread("CSERVICE", card)) == 1


@pytest.mark.asyncio
async def test_user_text_is_escaped_and_can_ping_nobody(slack: SlackDriver) -> None:
    # typed literally (Slack sends it as entities), so it must show literally
    await slack.slash("UXIAOMEI", "<!channel> <@UBOSS> <https://evil.example|click> & done "
                                  "customer:\"Li <b>Lei</b>\" category:hardware")
    await slack.deliver()
    [card] = slack.cards("CWAREHOUSE")
    shown = card_text(card)
    assert "&lt;!channel&gt;" in shown and "&lt;@UBOSS&gt;" in shown and "&lt;https://evil.example|click&gt;" in shown
    assert "&amp; done" in shown and "Li &lt;b&gt;Lei&lt;/b&gt;" in shown
    # nothing Slack would turn into a ping or a link, except the people the card means to name
    assert "<!" not in shown and "<http" not in shown
    assert "<@" not in shown.replace("<@ULAOWANG>", "").replace("<@UXIAOMEI>", "")
    # real mentions in a reply (Slack markup) reach a watcher's DM as inert text
    await slack.slash("UBOSS", "watch 1001")
    event = slack.reply_event("ULAOWANG", "CWAREHOUSE", card["ts"], "")
    await slack.event({**event, "text": "<!here> look, @everyone <@UXIAOMEI>"})
    await slack.deliver()
    [dm] = [m["text"] for m in slack.fake.dms("UBOSS")]
    assert dm.endswith("@\u2060here look, @\u2060everyone @Xiaomei")
    assert "<!" not in dm and "<@" not in dm


@pytest.mark.asyncio
async def test_long_comments_are_cut_within_slack_limits_with_a_pointer(slack: SlackDriver) -> None:
    await slack.slash("UXIAOMEI", "Fan noise order:TB-3")
    await slack.deliver()
    await slack.slash("UXIAOMEI", "comment 1001 " + "<&>" * 3000)
    await slack.deliver()
    [card] = slack.cards("CSERVICE")
    [notice] = slack.fake.thread("CSERVICE", card["ts"])
    assert len(notice["text"]) <= 3000
    assert notice["text"].endswith("… see /ticket show 1001")
    assert notice["text"].startswith("Xiaomei on #1001: &lt;&amp;&gt;&lt;&amp;&gt;")
    body = notice["text"].removesuffix("… see /ticket show 1001")
    assert body.endswith(("&lt;", "&amp;", "&gt;"))  # never a half entity
