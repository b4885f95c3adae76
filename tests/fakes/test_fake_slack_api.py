"""Tests of the FakeSlack fixture, driven by the real slack_sdk clients (nothing patched in the fake)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import FakeSlack

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Ticket #1*"}}]


@pytest.fixture
def fake():
    with FakeSlack() as f:
        f.add_user("U1", "alice", real_name="Alice A", tz="Europe/Berlin", display_name="ali")
        f.add_channel("C1", "support")
        f.add_channel("C2", "escalations")
        f.add_channel("C3", "outside", bot_member=False)
        yield f
        assert f.internal_errors == []


@pytest.fixture
def client(fake):
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def _header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v[0] if isinstance(v, list) else v
    return None


def test_urls_and_auth_test(fake, client):
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/api/"
    assert fake.url == f"http://127.0.0.1:{fake.port}/"
    resp = client.auth_test()
    assert resp["team_id"] == "T0001" and resp["user_id"] == "UBOT" and resp["bot_id"] == "B0001"
    assert fake.calls[-1] == ("auth.test", {})


def test_post_thread_reply_and_update(fake, client):
    parent = client.chat_postMessage(channel="C1", text="new ticket", blocks=BLOCKS, unfurl_links=False)
    assert parent["channel"] == "C1" and parent["message"]["text"] == "new ticket"
    ts = parent["ts"]
    reply = client.chat_postMessage(channel="C1", thread_ts=ts, text="working on it")
    assert float(reply["ts"]) > float(ts)
    upd = client.chat_update(channel="C1", ts=ts, text="ticket (claimed)")
    assert upd["ts"] == ts and upd["message"]["edited"]["user"] == "UBOT"

    [top] = fake.messages("C1")
    assert top["ts"] == ts and top["text"] == "ticket (claimed)" and top["blocks"] == BLOCKS
    assert top["user"] == "UBOT" and top["reply_count"] == 1 and "edited" in top
    [r] = fake.thread("C1", ts)
    assert r["text"] == "working on it" and r["thread_ts"] == ts and r["channel"] == "C1"
    assert [m["ts"] for m in fake.all_posts()] == [ts, reply["ts"]]
    assert fake.calls_to("chat.postMessage")[0]["unfurl_links"] is False

    replies = client.conversations_replies(channel="C1", ts=ts)["messages"]
    assert [m["ts"] for m in replies] == [ts, reply["ts"]]
    history = client.conversations_history(channel="C1")["messages"]
    assert [m["ts"] for m in history] == [ts]

    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts="1.000000", text="x")
    assert err.value.response["error"] == "message_not_found"


def test_ts_strictly_increasing_and_deterministic():
    def run() -> list[str]:
        with FakeSlack() as f:
            f.add_channel("C1", "a")
            f.add_channel("C2", "b")
            c = WebClient(token="xoxb-test", base_url=f.base_url)
            out = []
            for i in range(4):
                out.append(c.chat_postMessage(channel="C1" if i % 2 else "C2", text=str(i))["ts"])
            return out

    first, second = run(), run()
    assert first == second == sorted(set(first), key=float)
    assert first[0] == "1700000000.000100"


def test_post_ephemeral(fake, client):
    resp = client.chat_postEphemeral(channel="C1", user="U1", text="only you", blocks=BLOCKS)
    assert resp["message_ts"]
    [eph] = fake.ephemerals(channel="C1", user="U1")
    assert eph["text"] == "only you" and eph["blocks"] == BLOCKS and eph["message_ts"] == resp["message_ts"]
    assert fake.ephemerals(user="U404") == [] and fake.messages("C1") == []


def test_conversations_open_and_dm(fake, client):
    opened = client.conversations_open(users="U1")
    dm = opened["channel"]["id"]
    assert dm == fake.dm_channel_id("U1") == "DU1"
    assert client.conversations_open(users=["U1"])["channel"]["id"] == dm  # stable
    client.chat_postMessage(channel=dm, text="your ticket was closed")
    assert [m["text"] for m in fake.dms("U1")] == ["your ticket was closed"]
    assert client.conversations_info(channel=dm)["channel"]["is_im"] is True
    with pytest.raises(SlackApiError) as err:
        client.conversations_open(users="U404")
    assert err.value.response["error"] == "user_not_found"


def test_users_info(fake, client):
    user = client.users_info(user="U1")["user"]
    assert user["name"] == "alice" and user["tz"] == "Europe/Berlin"
    assert user["profile"] == {"display_name": "ali", "real_name": "Alice A"} and user["is_bot"] is False
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


def test_views_open_update_publish(fake, client):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "New ticket"}, "blocks": BLOCKS}
    opened = client.views_open(trigger_id="trig.1", view=view)["view"]
    assert opened["id"].startswith("V") and opened["title"]["text"] == "New ticket"
    assert [v["id"] for v in fake.opened_views] == [opened["id"]]
    assert fake.calls_to("views.open")[0]["trigger_id"] == "trig.1"

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view={**view, "blocks": []})["view"]
    assert fake.view(opened["id"])["blocks"] == [] and updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert err.value.response["error"] == "hash_conflict"

    client.views_publish(user_id="U1", view={"type": "home", "blocks": BLOCKS})
    assert fake.published_views["U1"]["type"] == "home"


def test_files_upload_v2_into_thread(fake, client):
    ts = client.chat_postMessage(channel="C1", text="ticket")["ts"]
    data = bytes(range(256)) + b"\r\n--boundary-like\r\n"
    resp = client.files_upload_v2(
        content=data, filename="report.csv", title="Report", channel="C1", thread_ts=ts, initial_comment="here"
    )
    file_id = resp["file"]["id"]
    assert resp["file"]["title"] == "Report"
    assert fake.file_content(file_id) == data

    [share] = fake.thread("C1", ts)
    assert share["text"] == "here" and share["upload"] is True and share["user"] == "UBOT"
    assert [f["id"] for f in share["files"]] == [file_id]
    assert fake.messages("C1")[0]["reply_count"] == 1
    info = client.files_info(file=file_id)["file"]
    assert info["shares"]["public"]["C1"][0]["thread_ts"] == ts and info["size"] == len(data)


def test_channel_not_found_and_not_in_channel(fake, client):
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C404", text="x")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C3", text="x")
    assert err.value.response["error"] == "not_in_channel"
    assert fake.messages("C3") == [] and fake.all_posts() == []
    fake.set_bot_member("C3", True)
    client.chat_postMessage(channel="#outside", text="joined")  # channel names resolve too
    assert [m["text"] for m in fake.messages("C3")] == ["joined"]


def test_invalid_auth(fake):
    for token in ("xoxb-wrong", None):
        with pytest.raises(SlackApiError) as err:
            WebClient(token=token, base_url=fake.base_url).chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == "invalid_auth"
    assert fake.messages("C1") == [] and len(fake.calls_to("chat.postMessage")) == 2


def test_fail_next_scripted_errors(fake, client):
    fake.fail_next("chat.postMessage", "fatal_error", times=2, channel="C2")
    client.chat_postMessage(channel="C1", text="unaffected")
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C2", text="x")
        assert err.value.response["error"] == "fatal_error"
    client.chat_postMessage(channel="C2", text="recovered")
    assert [m["text"] for m in fake.messages("C2")] == ["recovered"]


def test_rate_limit_next_and_sdk_retry_handler(fake):
    # The SDK sleeps Retry-After plus up to 1 s of jitter before its retry.
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    c = WebClient(
        token="xoxb-test", base_url=fake.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    started = time.monotonic()
    resp = c.chat_postMessage(channel="C1", text="after retry")
    assert 1.0 <= time.monotonic() - started < 2.5
    assert resp["ok"] and fake.rate_limited_calls == 1 and len(fake.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in fake.messages("C1")] == ["after retry"]


def test_rate_limit_without_retry_exposes_429(fake, client):
    fake.rate_limit_next("chat.update", retry_after=3)
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts=ts, text="y")
    assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
    assert _header(err.value.response.headers, "Retry-After") == "3"


def test_enforced_channel_rate(fake, client):
    fake.enforce_channel_rate(20)  # one post per 50 ms per channel
    client.chat_postMessage(channel="C1", text="1")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="2")
    resp = err.value.response
    assert resp.status_code == 429 and _header(resp.headers, "Retry-After") == "1"
    wait_ms = int(_header(resp.headers, "X-Retry-After-Ms"))
    assert 1 <= wait_ms <= 50
    client.chat_postMessage(channel="C2", text="other channel is fine")
    time.sleep(wait_ms / 1000)  # honour the precise hint
    client.chat_postMessage(channel="C1", text="3")
    assert [m["text"] for m in fake.messages("C1")] == ["1", "3"] and fake.rate_limited_calls == 1


def test_response_url_sink(fake):
    url = fake.new_response_url()
    other = fake.new_response_url()
    assert url.startswith(fake.url + "response/") and url != other
    resp = WebhookClient(url).send(text="done", replace_original=True)
    assert resp.status_code == 200 and json.loads(resp.body) == {"ok": True}
    assert fake.responses(url) == [{"text": "done", "replace_original": True}]
    assert fake.responses(other) == [] and len(fake.responses()) == 1
    assert WebhookClient(fake.url + "response/R9999999").send(text="x").status_code == 404


def test_form_encoded_query_and_token_param(fake, client):
    client.api_call("chat.postMessage", data={"channel": "C1", "text": "form", "blocks": json.dumps(BLOCKS)})
    assert fake.messages("C1")[0]["blocks"] == BLOCKS
    body = b"channel=C1&text=raw&token=xoxb-test"
    req = urllib.request.Request(fake.base_url + "chat.postMessage", data=body, method="POST")
    with urllib.request.urlopen(req) as r:
        assert json.loads(r.read())["ok"] is True
    with urllib.request.urlopen(fake.base_url + "users.info?user=U1&token=xoxb-test") as r:
        assert json.loads(r.read())["user"]["id"] == "U1"
    assert [m["text"] for m in fake.messages("C1")] == ["form", "raw"]


def test_unknown_method_recorded(fake, client):
    with pytest.raises(SlackApiError) as err:
        client.api_call("tickets.teleport", json={"x": 1})
    assert err.value.response["error"] == "unknown_method"
    assert fake.unknown_methods == ["tickets.teleport"] and fake.calls_to("tickets.teleport") == [{"x": 1}]


def test_reactions_permalink_and_injected_user_messages(fake, client):
    user_msg = fake.add_message("C1", "my blender broke", user="U1")
    client.reactions_add(channel="C1", timestamp=user_msg["ts"], name="eyes")
    with pytest.raises(SlackApiError) as err:
        client.reactions_add(channel="C1", timestamp=user_msg["ts"], name="eyes")
    assert err.value.response["error"] == "already_reacted"
    assert fake.message("C1", user_msg["ts"])["reactions"][0]["name"] == "eyes"
    reply = client.chat_postMessage(channel="C1", thread_ts=user_msg["ts"], text="ticket #1 opened")
    assert fake.thread("C1", user_msg["ts"])[0]["parent_user_id"] == "U1"
    link = client.chat_getPermalink(channel="C1", message_ts=reply["ts"])["permalink"]
    assert link.startswith(f"https://fake.slack.com/archives/C1/p{reply['ts'].replace('.', '')}")
    assert fake.all_posts()[0]["ts"] == reply["ts"]  # injected messages are not bot posts


def test_user_file_download(fake):
    f = fake.add_file(b"\x89PNG...", "photo.png", user="U1")
    req = urllib.request.Request(f["url_private"], headers={"Authorization": "Bearer xoxb-test"})
    with urllib.request.urlopen(req) as r:
        assert r.read() == b"\x89PNG..." and r.headers.get_content_type() == "image/png"


def test_wait_for(fake, client):
    threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="late")).start()
    msgs = fake.wait_for(lambda f: f.messages("C1"), timeout=2)
    assert msgs[0]["text"] == "late"
    with pytest.raises(AssertionError, match=r"(?s)timed out.*IndexError.*chat.postMessage"):
        fake.wait_for(lambda f: f.messages("C2")[0], timeout=0.05)


@pytest.mark.asyncio
async def test_async_client_end_to_end(fake):
    c = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
    ts = (await c.chat_postMessage(channel="C1", text="async"))["ts"]
    await c.chat_postMessage(channel="C1", thread_ts=ts, text="async reply")
    assert (await c.users_info(user="U1"))["user"]["name"] == "alice"  # GET + query string
    dm = (await c.conversations_open(users="U1"))["channel"]["id"]
    await c.chat_postMessage(channel=dm, text="dm")
    up = await c.files_upload_v2(content="a,b\n1,2\n", filename="t.csv", channel="C1", thread_ts=ts)
    assert fake.file_content(up["file"]["id"]) == b"a,b\n1,2\n"
    replies = await fake.async_wait_for(lambda f: len(f.thread("C1", ts)) == 2 and f.thread("C1", ts))
    assert [r.get("upload", False) for r in replies] == [False, True]
    assert [m["text"] for m in fake.dms("U1")] == ["dm"]
    with pytest.raises(SlackApiError) as err:
        await c.chat_postMessage(channel="C3", text="x")
    assert err.value.response["error"] == "not_in_channel"


@pytest.mark.asyncio
async def test_bolt_respond_posts_to_response_url(fake):
    from slack_bolt.context.respond.async_respond import AsyncRespond

    url = fake.new_response_url()
    await AsyncRespond(response_url=url)(text="ticket saved", response_type="ephemeral")
    [body] = fake.responses(url)
    assert body["text"] == "ticket saved" and body["response_type"] == "ephemeral"
