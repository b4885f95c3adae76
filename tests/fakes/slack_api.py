"""A fake Slack Web API server for tests: a real HTTP server with state and scripted faults.

``FakeSlack`` runs an ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` (a free port) in a
daemon thread, so it serves sync and async tests alike without touching the test's event loop.
Point the *real* SDK clients at it; nothing is monkey-patched::

    from slack_sdk import WebClient
    from slack_sdk.web.async_client import AsyncWebClient

    with FakeSlack() as fake:
        fake.add_user("U1", "alice", tz="Europe/Berlin")
        fake.add_channel("C1", "support")
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        ts = client.chat_postMessage(channel="C1", text="hi")["ts"]
        client.chat_postMessage(channel="C1", thread_ts=ts, text="reply")
        assert [m["text"] for m in fake.thread("C1", ts)] == ["reply"]

    # slack-bolt: AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=fake.base_url), ...)

What it fakes (``POST``/``GET`` ``/api/<method>``; JSON, form-encoded, multipart bodies and query
strings are all accepted; the token comes from ``Authorization: Bearer ...`` or a ``token`` param):

* ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
  ``chat.getPermalink``, ``views.open``/``views.push``/``views.update``/``views.publish``,
  ``users.info``, ``conversations.open``/``info``/``history``/``replies``, ``reactions.add``,
  ``files.getUploadURLExternal`` + the upload URL (``/upload/<file_id>``) +
  ``files.completeUploadExternal`` (what ``files_upload_v2`` uses), ``files.info``.
  Anything else answers ``unknown_method`` and is recorded in ``unknown_methods``.
* ``response_url`` sink: ``new_response_url()`` -> ``http://127.0.0.1:PORT/response/<id>``;
  POSTed bodies are kept in ``responses(id)``.
* File downloads: ``add_file(...)`` creates a (user) file whose ``url_private`` is served at
  ``/files/<id>/<name>`` to requests with a valid bearer token.

Like real Slack, answers are HTTP 200 ``{"ok": true, ...}`` / ``{"ok": false, "error": ...}``;
only rate limiting is HTTP 429 with ``Retry-After`` (whole seconds, >= 1 for the enforced limit)
plus a non-standard ``X-Retry-After-Ms`` header holding the precise wait.

Faults: ``fail_next(method, error, times=1, channel=None)``, ``rate_limit_next(method,
retry_after=1, times=1)``, ``enforce_channel_rate(per_second)`` (chat.postMessage / chat.update per
channel, burst of 1). ``method="*"`` matches every method.

Inspection: ``messages(channel)``, ``thread(channel, ts)``, ``message(channel, ts)``,
``all_posts()``, ``ephemerals()``, ``dms(user)``, ``reactions()``, ``files()``,
``file_content(id)``, ``opened_views``, ``view(id)``, ``published_views``, ``calls``,
``calls_to(method)``, ``rate_limited_calls``, ``wait_for(pred)`` / ``await async_wait_for(pred)``.
Every helper returns deep copies, so tests can't corrupt state by mutating results.

Leniency: by default ``thread_ts`` / ``reactions.add`` / ``chat.getPermalink`` accept message ts the
fake has never seen (bots often act on user messages that only exist in a synthetic event). Pass
``strict_messages=True`` to get ``thread_not_found`` / ``message_not_found`` instead, or inject
the user's message with ``add_message(...)`` first.

All ``ts`` values come from one counter ("1700000000.000100", "1700000000.000200", ...): unique
across the fake, strictly increasing and deterministic, as are ids of views ("V0000001"), files
("F0000001") and response URLs.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import mimetypes
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FakeSlack", "Call"]

_TS_BASE_US = 1_700_000_000 * 1_000_000
_TS_STEP_US = 100
# Params that slack_sdk (or a form-encoded caller) may send as JSON-encoded strings.
_JSON_PARAMS = ("blocks", "attachments", "view", "files", "metadata", "user_auth_blocks")
_RATE_ENFORCED_METHODS = ("chat.postMessage", "chat.update")
_MAX_BLOCKS_MESSAGE = 50
_MAX_BLOCKS_VIEW = 100
_MAX_TEXT = 40_000


class Call(NamedTuple):
    """One API call as received: ``(method, params)`` (params without the token)."""

    method: str
    params: dict[str, Any]


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class _Fault:
    def __init__(
        self,
        method: str,
        kind: str,
        times: int,
        channel: str | None,
        error: str = "",
        retry_after: int = 1,
    ) -> None:
        self.method = method
        self.kind = kind  # "error" | "ratelimit"
        self.remaining = times
        self.channel = channel
        self.error = error
        self.retry_after = retry_after

    def matches(self, method: str, channel: str | None) -> bool:
        if self.remaining <= 0:
            return False
        if self.method not in ("*", method):
            return False
        return self.channel is None or self.channel == channel


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _ts_key(ts: str) -> tuple[int, int]:
    sec, _, frac = str(ts).partition(".")
    try:
        return int(sec), int((frac + "000000")[:6])
    except ValueError:
        return (0, 0)


def _split_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _parse_multipart(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    """Return [(field name, filename or None, raw bytes)] of a multipart/form-data body."""
    boundary = None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return []
    delimiter = b"--" + boundary.encode("latin-1")
    out: list[tuple[str, str | None, bytes]] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        name, filename = "", None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            hname, _, hvalue = line.partition(":")
            if hname.strip().lower() != "content-disposition":
                continue
            for item in hvalue.split(";")[1:]:
                k, _, v = item.strip().partition("=")
                v = v.strip().strip('"')
                if k.lower() == "name":
                    name = v
                elif k.lower() == "filename":
                    filename = v
        out.append((name, filename, content))
    return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeSlack/1.0"
    # Slack keeps connections alive; http.server's default HTTP/1.0 would close each one and charge
    # every client a TCP handshake per call that the real API never costs.
    protocol_version = "HTTP/1.1"
    fake: FakeSlack  # set on the per-instance subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    # -- plumbing -----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return bytes(data)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), headers=headers)

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return None

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        body = self._read_body() if self.command in ("POST", "PUT") else b""
        fake = self.fake
        if path.startswith("/api/"):
            method = path[len("/api/") :].strip("/")
            params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
            ctype = (self.headers.get("Content-Type") or "").lower()
            try:
                if body:
                    if ctype.startswith("application/json"):
                        parsed = json.loads(body.decode("utf-8"))
                        if isinstance(parsed, dict):
                            params.update(parsed)
                    elif ctype.startswith("multipart/form-data"):
                        for name, filename, content in _parse_multipart(body, self.headers["Content-Type"]):
                            if filename is not None:
                                params[name] = {"filename": filename, "content": content}
                            else:
                                params[name] = content.decode("utf-8", "replace")
                    else:  # x-www-form-urlencoded (also the default for missing content type)
                        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except (ValueError, UnicodeDecodeError):
                self._send_json(200, {"ok": False, "error": "invalid_json"})
                return
            status, payload, headers = fake._dispatch(method, params, self._bearer())
            self._send_json(status, payload, headers)
        elif path.startswith("/upload/") and self.command == "POST":
            file_id = path[len("/upload/") :].strip("/")
            ctype = self.headers.get("Content-Type") or ""
            content = body
            if ctype.lower().startswith("multipart/form-data"):
                parts = _parse_multipart(body, ctype)
                chosen = next((p for p in parts if p[1] is not None), None) or next(
                    (p for p in parts if p[0] in ("file", "filename")), None
                )
                content = chosen[2] if chosen else b""
            if fake._store_upload(file_id, content):
                self._send(200, f"OK - {len(content)}".encode(), content_type="text/plain; charset=utf-8")
            else:
                self._send(404, b"file_not_found", content_type="text/plain; charset=utf-8")
        elif path.startswith("/response/") and self.command == "POST":
            rid = path[len("/response/") :].strip("/")
            text = body.decode("utf-8", "replace")
            try:
                payload_in: Any = json.loads(text) if text else {}
            except ValueError:
                form = dict(parse_qsl(text, keep_blank_values=True))
                try:
                    payload_in = json.loads(form.get("payload", ""))
                except ValueError:
                    payload_in = form or text
            if fake._record_response(rid, payload_in):
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"ok": False, "error": "expired_url"})
        elif path.startswith("/files/") and self.command in ("GET", "HEAD"):
            file_id = path[len("/files/") :].split("/")[0]
            status, content, mimetype = fake._download(file_id, self._bearer())
            self._send(status, content, content_type=mimetype)
        else:
            self._send(404, b"not found", content_type="text/plain; charset=utf-8")

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class FakeSlack:
    """A stateful fake of the Slack Web API served over real HTTP. See the module docstring."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("xoxb-test",),
        team_id: str = "T0001",
        team_name: str = "Fake Team",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
        bot_name: str = "afterdesk",
        app_id: str = "A0001",
        strict_messages: bool = False,
    ) -> None:
        self.tokens: set[str] = set(tokens)
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.strict_messages = strict_messages

        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._ts_counter = 0
        self._id_counters: dict[str, int] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._reactions: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._opened_views: list[dict[str, Any]] = []
        self._published_views: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_content: dict[str, bytes] = {}
        self._responses: dict[str, list[Any]] = {}
        self._calls: list[Call] = []
        self._unknown_methods: list[str] = []
        self._internal_errors: list[str] = []
        self._faults: list[_Fault] = []
        self._rate_interval: float | None = None
        self._rate_next_allowed: dict[str, float] = {}
        self._rate_limited_calls = 0
        self._custom_handlers: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {}

        self.add_user(bot_user_id, bot_name, real_name=bot_name, is_bot=True)

    # =========================================================================================
    # lifecycle
    # =========================================================================================
    def start(self) -> FakeSlack:
        """Start serving (idempotent). Returns self."""
        with self._lock:
            if self._server is not None:
                return self
            handler = type("_BoundHandler", (_Handler,), {"fake": self})
            self._server = _Server(("127.0.0.1", 0), handler)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=f"FakeSlack:{self._server.server_address[1]}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent). State stays inspectable."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        """Web API base URL for ``WebClient(base_url=...)``, e.g. ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}api/"

    # =========================================================================================
    # seeding state
    # =========================================================================================
    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
        email: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add (or replace) a workspace user; returns a copy of the user object."""
        name = name or user_id.lower()
        real_name = real_name if real_name is not None else name
        display_name = display_name if display_name is not None else name
        profile: dict[str, Any] = {"display_name": display_name, "real_name": real_name}
        if email:
            profile["email"] = email
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "tz": tz,
            "tz_offset": _tz_offset(tz),
            "profile": profile,
            "is_bot": is_bot,
            "is_app_user": False,
        }
        user.update(extra)
        with self._lock:
            self._users[user_id] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        bot_member: bool = True,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a channel; ``bot_member=False`` makes posts fail with ``not_in_channel``."""
        members_set = set(members)
        if bot_member:
            members_set.add(self.bot_user_id)
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_channel": not is_private,
                "is_group": is_private,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "is_archived": False,
                "members": members_set,
            }
            self._messages.setdefault(channel_id, [])
            return self._public_channel(self._channels[channel_id])

    def set_bot_member(self, channel: str, member: bool) -> None:
        """Add the bot to / remove it from a channel."""
        with self._lock:
            ch = self._require_channel_record(channel)
            if member:
                ch["members"].add(self.bot_user_id)
            else:
                ch["members"].discard(self.bot_user_id)

    def add_message(
        self,
        channel: str,
        text: str = "",
        user: str = "U_SOMEONE",
        *,
        thread_ts: str | None = None,
        ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        files: list[str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Inject a message written by ``user`` (not via the API; not recorded in ``calls``).

        Use it to make the fake know about a customer's message that a test also delivers to the bot
        as an event. ``ts`` defaults to ``next_ts()``. ``files`` are file ids from ``add_file``.
        Returns a copy of the message.
        """
        with self._lock:
            ch = self._resolve_channel(channel, create_dm=True)
            if ch is None:
                raise KeyError(f"unknown channel {channel!r}")
            msg: dict[str, Any] = {"type": "message", "user": user, "text": text}
            if blocks is not None:
                msg["blocks"] = copy.deepcopy(blocks)
            if files:
                msg["files"] = [self._public_file(self._files[f]) for f in files]
                msg["upload"] = True
            msg.update(extra)
            return copy.deepcopy(self._store_message(ch["id"], msg, thread_ts=thread_ts, ts=ts))

    def add_file(
        self,
        content: bytes | str,
        name: str = "file.bin",
        *,
        title: str | None = None,
        user: str = "U_SOMEONE",
        mimetype: str | None = None,
    ) -> dict[str, Any]:
        """Create a file (e.g. a customer's screenshot); its ``url_private`` serves ``content``."""
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        with self._lock:
            file_id = self._next_id("F")
            self._files[file_id] = self._new_file_object(file_id, name, title or name, user, len(data), mimetype)
            self._file_content[file_id] = data
            return copy.deepcopy(self._files[file_id])

    def next_ts(self) -> str:
        """Allocate a fresh ts from the fake's single counter (e.g. for synthetic event payloads)."""
        with self._lock:
            return self._new_ts()

    def set_method_handler(self, method: str, handler: Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]) -> None:
        """Serve an extra API method: ``handler(fake, params)`` returns the payload (``ok`` is added);
        raise ``ValueError("some_error")`` to answer ``{"ok": false, "error": "some_error"}``."""
        with self._lock:
            self._custom_handlers[method] = handler

    # =========================================================================================
    # faults
    # =========================================================================================
    def fail_next(self, method: str, error: str, times: int = 1, channel: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` (optionally only for ``channel``) with ``error``."""
        with self._lock:
            self._faults.append(_Fault(method, "error", times, channel, error=error))

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1, channel: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 + ``Retry-After: retry_after``."""
        with self._lock:
            self._faults.append(_Fault(method, "ratelimit", times, channel, retry_after=int(retry_after)))

    def enforce_channel_rate(self, per_second: float | None) -> None:
        """Rate-limit chat.postMessage/chat.update per channel to ``per_second`` (burst 1).

        Too-fast calls get HTTP 429, ``Retry-After`` = ceil(wait) (>= 1) and ``X-Retry-After-Ms``.
        ``None`` or ``0`` switches enforcement off."""
        with self._lock:
            self._rate_interval = (1.0 / per_second) if per_second else None
            self._rate_next_allowed.clear()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def rate_limited_calls(self) -> int:
        """How many calls got HTTP 429 (scripted or enforced)."""
        with self._lock:
            return self._rate_limited_calls

    # =========================================================================================
    # inspection
    # =========================================================================================
    @property
    def calls(self) -> list[Call]:
        """Every API call received (incl. failed / rate-limited / unknown ones), in arrival order."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Params of every call of ``method``, in arrival order."""
        with self._lock:
            return [copy.deepcopy(c.params) for c in self._calls if c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def unknown_methods(self) -> list[str]:
        with self._lock:
            return list(self._unknown_methods)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of exceptions inside the fake's handlers (answered HTTP 500); should stay empty."""
        with self._lock:
            return list(self._internal_errors)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of ``channel`` (id, name or DM user id) in ts order (incl. broadcasts)."""
        with self._lock:
            ch = self._resolve_channel(channel)
            if ch is None:
                return []
            return copy.deepcopy(
                [
                    m
                    for m in self._messages.get(ch["id"], [])
                    if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
                ]
            )

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies (without the parent) in the thread ``ts`` of ``channel``, in ts order."""
        with self._lock:
            ch = self._resolve_channel(channel)
            if ch is None:
                return []
            return copy.deepcopy(
                [m for m in self._messages.get(ch["id"], []) if m.get("thread_ts") == ts and m["ts"] != ts]
            )

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message ``ts`` in ``channel`` (top-level or reply), or None."""
        with self._lock:
            ch = self._resolve_channel(channel)
            msg = self._find_message(ch["id"], ts) if ch else None
            return copy.deepcopy(msg)

    def all_posts(self) -> list[dict[str, Any]]:
        """Every message the bot posted (chat.postMessage and file shares), all channels, ts order."""
        with self._lock:
            posts = [m for msgs in self._messages.values() for m in msgs if m.get("user") == self.bot_user_id]
            return copy.deepcopy(sorted(posts, key=lambda m: _ts_key(m["ts"])))

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages ``{channel, user, text, blocks?, thread_ts?, message_ts}``."""
        with self._lock:
            ch_id = None
            if channel is not None:
                ch = self._resolve_channel(channel)
                ch_id = ch["id"] if ch else channel
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
                    if (ch_id is None or e["channel"] == ch_id) and (user is None or e["user"] == user)
                ]
            )

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """All messages (top-level and replies) in the bot's DM channel with ``user_id``."""
        with self._lock:
            return copy.deepcopy(list(self._messages.get(self.dm_channel_id(user_id), [])))

    def dm_channel_id(self, user_id: str) -> str:
        """The (stable) DM channel id conversations.open returns for ``user_id``."""
        return "D" + user_id

    def reactions(self, channel: str | None = None, ts: str | None = None) -> list[dict[str, Any]]:
        """Reactions the bot added: ``{channel, ts, name, user}``."""
        with self._lock:
            return copy.deepcopy(
                [
                    r
                    for r in self._reactions
                    if (channel is None or r["channel"] == channel) and (ts is None or r["ts"] == ts)
                ]
            )

    def users(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._users)

    def channels(self) -> dict[str, dict[str, Any]]:
        """Channel records by id; ``members`` as sorted lists."""
        with self._lock:
            return {cid: self._public_channel(ch, members=True) for cid, ch in self._channels.items()}

    @property
    def opened_views(self) -> list[dict[str, Any]]:
        """Views as opened/pushed (snapshots at open time), in order."""
        with self._lock:
            return copy.deepcopy(self._opened_views)

    def view(self, view_id: str) -> dict[str, Any] | None:
        """Current state of a view (after any views.update)."""
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    @property
    def published_views(self) -> dict[str, dict[str, Any]]:
        """Home tabs by user id (views.publish)."""
        with self._lock:
            return copy.deepcopy(self._published_views)

    def files(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._files.values()))

    def file_content(self, file_id: str) -> bytes | None:
        with self._lock:
            return self._file_content.get(file_id)

    def new_response_url(self) -> str:
        """Issue a response_url; bodies POSTed to it are kept in ``responses(id)``."""
        with self._lock:
            rid = self._next_id("R")
            self._responses[rid] = []
        return f"{self.url}response/{rid}"

    def responses(self, response_url_or_id: str | None = None) -> list[Any]:
        """Bodies POSTed to one response_url (its id or full URL), or to all of them if None."""
        with self._lock:
            if response_url_or_id is None:
                return copy.deepcopy([b for bodies in self._responses.values() for b in bodies])
            rid = response_url_or_id.rstrip("/").rsplit("/", 1)[-1]
            return copy.deepcopy(self._responses.get(rid, []))

    # -- waiting ----------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[FakeSlack], Any], timeout: float = 5.0, message: str = "") -> Any:
        """Poll ``predicate(fake)`` under the state lock until truthy; return its value.

        Exceptions raised by the predicate (e.g. IndexError) count as "not yet". On timeout raise
        AssertionError with the predicate, its last exception and the last calls received."""
        deadline = time.monotonic() + timeout
        while True:
            ok, value, err = self._try(predicate)
            if ok:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(predicate, timeout, err, message))
            time.sleep(0.005)

    async def async_wait_for(
        self, predicate: Callable[[FakeSlack], Any], timeout: float = 5.0, message: str = ""
    ) -> Any:
        """Like ``wait_for`` but sleeps with ``asyncio.sleep`` so the event loop keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            ok, value, err = self._try(predicate)
            if ok:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(predicate, timeout, err, message))
            await asyncio.sleep(0.005)

    def _try(self, predicate: Callable[[FakeSlack], Any]) -> tuple[bool, Any, BaseException | None]:
        with self._lock:
            try:
                value = predicate(self)
            except Exception as exc:  # noqa: BLE001 - "not yet"
                return False, None, exc
        return bool(value), value, None

    def _timeout_message(
        self, predicate: Callable[..., Any], timeout: float, err: BaseException | None, message: str
    ) -> str:
        name = getattr(predicate, "__qualname__", repr(predicate))
        code = getattr(predicate, "__code__", None)
        where = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
        with self._lock:
            total = len(self._calls)
            recent = [f"{c.method} {_short(c.params)}" for c in self._calls[-8:]]
        lines = [f"FakeSlack.wait_for timed out after {timeout}s: {message or name}{where}"]
        if err is not None:
            lines.append(f"  predicate last raised: {err!r}")
        lines.append(f"  last {len(recent)} API calls (of {total}):")
        lines.extend(f"    {r}" for r in recent)
        return "\n".join(lines)

    # =========================================================================================
    # request dispatch (runs on server threads)
    # =========================================================================================
    def _dispatch(
        self, method: str, params: dict[str, Any], bearer: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = bearer or params.get("token")
        params = {k: v for k, v in params.items() if k != "token"}
        for key in _JSON_PARAMS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        with self._lock:
            self._calls.append(Call(method, copy.deepcopy(params)))
            if not token or token not in self.tokens:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            handler = self._custom_handlers.get(method) or _METHODS.get(method)
            if handler is None:
                self._unknown_methods.append(method)
                return 200, {"ok": False, "error": "unknown_method"}, {}
            channel = self._fault_channel(params)
            limited = self._check_rate_limits(method, channel)
            if limited is not None:
                self._rate_limited_calls += 1
                return 429, {"ok": False, "error": "ratelimited"}, limited
            for fault in self._faults:
                if fault.kind == "error" and fault.matches(method, channel):
                    fault.remaining -= 1
                    return 200, {"ok": False, "error": fault.error}, {}
            try:
                result = handler(self, params)
            except _ApiError as exc:
                return 200, {"ok": False, "error": exc.error, **exc.extra}, {}
            except ValueError as exc:
                if method in self._custom_handlers:
                    return 200, {"ok": False, "error": str(exc)}, {}
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            except Exception:  # a bug in the fake (or a custom handler): make it visible
                self._internal_errors.append(f"{method}: {traceback.format_exc()}")
                return 500, {"ok": False, "error": "fake_internal_error"}, {}
            return 200, {"ok": True, **(result or {})}, {}

    def _fault_channel(self, params: dict[str, Any]) -> str | None:
        raw = params.get("channel") or params.get("channel_id")
        if not isinstance(raw, str):
            return None
        ch = self._resolve_channel(raw)
        return ch["id"] if ch else raw

    def _check_rate_limits(self, method: str, channel: str | None) -> dict[str, str] | None:
        for fault in self._faults:
            if fault.kind == "ratelimit" and fault.matches(method, channel):
                fault.remaining -= 1
                return {"Retry-After": str(fault.retry_after), "X-Retry-After-Ms": str(fault.retry_after * 1000)}
        if self._rate_interval is not None and method in _RATE_ENFORCED_METHODS and channel is not None:
            now = time.monotonic()
            allowed_at = self._rate_next_allowed.get(channel, 0.0)
            if now < allowed_at:
                wait = allowed_at - now
                return {
                    "Retry-After": str(max(1, math.ceil(wait))),
                    "X-Retry-After-Ms": str(max(1, math.ceil(wait * 1000))),
                }
            self._rate_next_allowed[channel] = now + self._rate_interval
        return None

    def _store_upload(self, file_id: str, content: bytes) -> bool:
        with self._lock:
            f = self._files.get(file_id)
            if f is None:
                return False
            self._file_content[file_id] = content
            f["size"] = len(content)
            f["_uploaded"] = True
            return True

    def _record_response(self, rid: str, body: Any) -> bool:
        with self._lock:
            if rid not in self._responses:
                return False
            self._responses[rid].append(body)
            return True

    def _download(self, file_id: str, bearer: str | None) -> tuple[int, bytes, str]:
        with self._lock:
            if not bearer or bearer not in self.tokens:
                return 403, b"invalid_auth", "text/plain; charset=utf-8"
            f = self._files.get(file_id)
            if f is None or file_id not in self._file_content:
                return 404, b"file_not_found", "text/plain; charset=utf-8"
            return 200, self._file_content[file_id], f.get("mimetype") or "application/octet-stream"

    # =========================================================================================
    # internals (call with the lock held)
    # =========================================================================================
    def _new_ts(self) -> str:
        self._ts_counter += 1
        us = _TS_BASE_US + self._ts_counter * _TS_STEP_US
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _bump_ts_past(self, ts: str) -> None:
        sec, micro = _ts_key(ts)
        needed = -(-((sec * 1_000_000 + micro) - _TS_BASE_US) // _TS_STEP_US)
        self._ts_counter = max(self._ts_counter, needed)

    def _next_id(self, prefix: str) -> str:
        n = self._id_counters.get(prefix, 0) + 1
        self._id_counters[prefix] = n
        return f"{prefix}{n:07d}"

    def _resolve_channel(self, channel: Any, create_dm: bool = False) -> dict[str, Any] | None:
        if not isinstance(channel, str) or not channel:
            return None
        if channel in self._channels:
            return self._channels[channel]
        name = channel[1:] if channel.startswith("#") else channel
        for ch in self._channels.values():
            if not ch["is_im"] and ch["name"] == name:
                return ch
        if channel in self._users:  # posting to a user id goes to the bot's DM with them
            return self._open_dm(channel) if create_dm else self._channels.get(self.dm_channel_id(channel))
        return None

    def _require_channel_record(self, channel: str) -> dict[str, Any]:
        ch = self._resolve_channel(channel)
        if ch is None:
            raise KeyError(f"unknown channel {channel!r}")
        return ch

    def _open_dm(self, user_id: str) -> dict[str, Any]:
        cid = self.dm_channel_id(user_id)
        if cid not in self._channels:
            self._channels[cid] = {
                "id": cid,
                "name": cid,
                "is_channel": False,
                "is_group": False,
                "is_im": True,
                "is_mpim": False,
                "is_private": True,
                "is_archived": False,
                "user": user_id,
                "members": {user_id, self.bot_user_id},
            }
            self._messages.setdefault(cid, [])
        return self._channels[cid]

    def _channel_for_write(self, params: dict[str, Any], key: str = "channel") -> dict[str, Any]:
        ch = self._resolve_channel(params.get(key), create_dm=True)
        if ch is None:
            raise _ApiError("channel_not_found")
        if self.bot_user_id not in ch["members"]:
            raise _ApiError("not_in_channel")
        if ch["is_archived"]:
            raise _ApiError("is_archived")
        return ch

    def _channel_for_read(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve_channel(params.get("channel"))
        if ch is None:
            raise _ApiError("channel_not_found")
        return ch

    def _public_channel(self, ch: dict[str, Any], members: bool = False) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in ch.items() if k != "members" and not k.startswith("_")}
        out["is_member"] = self.bot_user_id in ch["members"]
        if members:
            out["members"] = sorted(ch["members"])
        return out

    def _find_message(self, channel_id: str, ts: Any) -> dict[str, Any] | None:
        for m in self._messages.get(channel_id, []):
            if m["ts"] == ts:
                return m
        return None

    def _store_message(
        self, channel_id: str, msg: dict[str, Any], *, thread_ts: Any = None, ts: str | None = None
    ) -> dict[str, Any]:
        if ts is None:
            ts = self._new_ts()
        else:
            if self._find_message(channel_id, ts) is not None:
                raise ValueError(f"duplicate ts {ts} in {channel_id}")
            self._bump_ts_past(ts)
        msg["ts"] = ts
        msg["channel"] = channel_id
        thread_ts = str(thread_ts) if thread_ts not in (None, "") else None
        parent = None
        if thread_ts is not None and thread_ts != ts:
            parent = self._find_message(channel_id, thread_ts)
            if parent is None and self.strict_messages:
                raise _ApiError("thread_not_found")
            msg["thread_ts"] = thread_ts
            msg["parent_user_id"] = parent["user"] if parent else None
        else:
            msg["reply_count"] = 0
        bucket = self._messages.setdefault(channel_id, [])
        bucket.append(msg)
        bucket.sort(key=lambda m: _ts_key(m["ts"]))
        if parent is not None:
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            users = parent.setdefault("reply_users", [])
            if msg.get("user") not in users:
                users.append(msg.get("user"))
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = ts
        return msg

    def _api_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        out.pop("channel", None)
        return out

    def _new_file_object(
        self, file_id: str, name: str, title: str, user: str, size: int, mimetype: str | None = None
    ) -> dict[str, Any]:
        created = (_TS_BASE_US + self._ts_counter * _TS_STEP_US) // 1_000_000
        mimetype = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        return {
            "id": file_id,
            "created": created,
            "timestamp": created,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": user,
            "user_team": self.team_id,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": f"{self.url}files/{file_id}/{name}",
            "url_private_download": f"{self.url}files/{file_id}/{name}?download=1",
            "permalink": f"https://fake.slack.com/files/{user}/{file_id}/{name}",
            "channels": [],
            "groups": [],
            "ims": [],
            "shares": {},
        }

    def _validate_blocks(self, blocks: Any, limit: int) -> None:
        if blocks is None:
            return
        if not isinstance(blocks, list) or len(blocks) > limit:
            raise _ApiError("invalid_blocks")
        for b in blocks:
            if not isinstance(b, dict) or not isinstance(b.get("type"), str):
                raise _ApiError("invalid_blocks")

    def _validate_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            raise _ApiError("invalid_arguments")
        self._validate_blocks(view.get("blocks", []), _MAX_BLOCKS_VIEW)
        return copy.deepcopy(view)

    def _materialize_view(self, view: dict[str, Any], view_id: str, root_view_id: str | None = None) -> dict[str, Any]:
        out = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": f"{view_id}.{self._id_counters.get('hash', 0) + 1}",
            "root_view_id": root_view_id or view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }
        self._id_counters["hash"] = self._id_counters.get("hash", 0) + 1
        out.update(view)
        out["id"] = view_id
        return out

    # -- API methods ------------------------------------------------------------------------
    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_write(params)
        text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if text and len(str(text)) > _MAX_TEXT:
            raise _ApiError("msg_too_long")
        self._validate_blocks(blocks, _MAX_BLOCKS_MESSAGE)
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text or "",
        }
        if blocks is not None:
            msg["blocks"] = blocks
        if attachments is not None:
            msg["attachments"] = attachments
        if params.get("metadata") is not None:
            msg["metadata"] = params["metadata"]
        for opt in ("username", "icon_emoji", "icon_url"):
            if params.get(opt):
                msg[opt] = params[opt]
        thread_ts = params.get("thread_ts")
        if thread_ts and _to_bool(params.get("reply_broadcast")):
            msg["subtype"] = "thread_broadcast"
        stored = self._store_message(ch["id"], msg, thread_ts=thread_ts)
        return {"channel": ch["id"], "ts": stored["ts"], "message": self._api_message(stored)}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_write(params)
        msg = self._find_message(ch["id"], params.get("ts"))
        if msg is None:
            raise _ApiError("message_not_found")
        if msg.get("user") != self.bot_user_id:
            raise _ApiError("cant_update_message")
        text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
        if text is None and blocks is None and attachments is None:
            raise _ApiError("no_text")
        if text and len(str(text)) > _MAX_TEXT:
            raise _ApiError("msg_too_long")
        self._validate_blocks(blocks, _MAX_BLOCKS_MESSAGE)
        if text is not None:
            msg["text"] = text
        for key, value in (("blocks", blocks), ("attachments", attachments), ("metadata", params.get("metadata"))):
            if value is None:
                continue
            if value == []:
                msg.pop(key, None)
            else:
                msg[key] = value
        msg["edited"] = {"user": self.bot_user_id, "ts": self._new_ts()}
        return {"channel": ch["id"], "ts": msg["ts"], "text": msg["text"], "message": self._api_message(msg)}

    def _m_chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_write(params)
        user = params.get("user")
        if not user:
            raise _ApiError("user_not_found")
        if user not in self._users:
            raise _ApiError("user_not_found")
        text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        self._validate_blocks(blocks, _MAX_BLOCKS_MESSAGE)
        message_ts = self._new_ts()
        eph: dict[str, Any] = {"channel": ch["id"], "user": user, "text": text or "", "message_ts": message_ts}
        if blocks is not None:
            eph["blocks"] = blocks
        if attachments is not None:
            eph["attachments"] = attachments
        if params.get("thread_ts"):
            eph["thread_ts"] = str(params["thread_ts"])
        self._ephemerals.append(eph)
        return {"message_ts": message_ts}

    def _m_chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_read(params)
        ts = params.get("message_ts")
        if not ts:
            raise _ApiError("message_not_found")
        msg = self._find_message(ch["id"], ts)
        if msg is None and self.strict_messages:
            raise _ApiError("message_not_found")
        link = f"https://fake.slack.com/archives/{ch['id']}/p{str(ts).replace('.', '')}"
        if msg is not None and msg.get("thread_ts") not in (None, msg["ts"]):
            link += f"?thread_ts={msg['thread_ts']}&cid={ch['id']}"
        return {"channel": ch["id"], "permalink": link}

    def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise _ApiError("invalid_arguments")
        view = self._materialize_view(self._validate_view(params.get("view")), self._next_id("V"))
        self._views[view["id"]] = view
        self._opened_views.append(copy.deepcopy(view))
        return {"view": copy.deepcopy(view)}

    def _m_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise _ApiError("invalid_arguments")
        root = self._opened_views[-1]["root_view_id"] if self._opened_views else None
        view = self._materialize_view(self._validate_view(params.get("view")), self._next_id("V"), root)
        self._views[view["id"]] = view
        self._opened_views.append(copy.deepcopy(view))
        return {"view": copy.deepcopy(view)}

    def _m_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        new = self._validate_view(params.get("view"))
        current = None
        if params.get("view_id"):
            current = self._views.get(params["view_id"])
        elif params.get("external_id"):
            current = next((v for v in self._views.values() if v.get("external_id") == params["external_id"]), None)
        else:
            raise _ApiError("invalid_arguments")
        if current is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        updated = self._materialize_view(new, current["id"], current["root_view_id"])
        updated["previous_view_id"] = current.get("previous_view_id")
        self._views[current["id"]] = updated
        return {"view": copy.deepcopy(updated)}

    def _m_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not user_id or user_id not in self._users:
            raise _ApiError("user_not_found")
        new = self._validate_view(params.get("view"))
        current = self._published_views.get(user_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._materialize_view(new, current["id"] if current else self._next_id("V"))
        self._published_views[user_id] = view
        self._views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(params.get("user") or "")
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            ch = self._resolve_channel(params["channel"])
            if ch is None:
                raise _ApiError("channel_not_found")
            return {"no_op": True, "already_open": True, "channel": self._public_channel(ch)}
        users = [u for u in _split_ids(params.get("users")) if u != self.bot_user_id]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for u in users:
            if u not in self._users:
                raise _ApiError("user_not_found")
        if len(users) == 1:
            already = self.dm_channel_id(users[0]) in self._channels
            ch = self._open_dm(users[0])
        else:
            key = "mpim:" + ",".join(sorted(users))
            existing = next((c for c in self._channels.values() if c.get("_key") == key), None)
            already = existing is not None
            if existing is None:
                cid = self._next_id("G")
                existing = {
                    "id": cid,
                    "name": "mpdm-" + "--".join(sorted(users)),
                    "is_channel": False,
                    "is_group": False,
                    "is_im": False,
                    "is_mpim": True,
                    "is_private": True,
                    "is_archived": False,
                    "_key": key,
                    "members": set(users) | {self.bot_user_id},
                }
                self._channels[cid] = existing
                self._messages.setdefault(cid, [])
            ch = existing
        channel = self._public_channel(ch) if _to_bool(params.get("return_im")) else {"id": ch["id"]}
        return {"no_op": already, "already_open": already, "channel": channel}

    def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_read(params)
        out = self._public_channel(ch)
        if _to_bool(params.get("include_num_members")):
            out["num_members"] = len(ch["members"])
        return {"channel": out}

    def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_read(params)
        if self.bot_user_id not in ch["members"]:
            raise _ApiError("not_in_channel")
        inclusive = _to_bool(params.get("inclusive"))
        oldest, latest = params.get("oldest"), params.get("latest")
        msgs = [
            m
            for m in self._messages.get(ch["id"], [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        if oldest:
            msgs = [m for m in msgs if _ts_key(m["ts"]) > _ts_key(oldest) or (inclusive and m["ts"] == oldest)]
        if latest:
            msgs = [m for m in msgs if _ts_key(m["ts"]) < _ts_key(latest) or (inclusive and m["ts"] == latest)]
        msgs = list(reversed(msgs))  # newest first, like Slack
        limit = int(params.get("limit") or 100)
        return {
            "messages": [self._api_message(m) for m in msgs[:limit]],
            "has_more": len(msgs) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_read(params)
        if self.bot_user_id not in ch["members"]:
            raise _ApiError("not_in_channel")
        ts = params.get("ts")
        parent = self._find_message(ch["id"], ts)
        replies = [m for m in self._messages.get(ch["id"], []) if m.get("thread_ts") == ts and m["ts"] != ts]
        if parent is None and not replies:
            raise _ApiError("thread_not_found")
        msgs = ([parent] if parent is not None else []) + replies
        limit = int(params.get("limit") or 1000)
        return {
            "messages": [self._api_message(m) for m in msgs[:limit]],
            "has_more": len(msgs) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for_write(params)
        name = str(params.get("name") or "").strip(":")
        ts = params.get("timestamp")
        if not name:
            raise _ApiError("invalid_name")
        if not ts:
            raise _ApiError("message_not_found")
        msg = self._find_message(ch["id"], ts)
        if msg is None and self.strict_messages:
            raise _ApiError("message_not_found")
        if any(r["channel"] == ch["id"] and r["ts"] == ts and r["name"] == name for r in self._reactions):
            raise _ApiError("already_reacted")
        self._reactions.append({"channel": ch["id"], "ts": ts, "name": name, "user": self.bot_user_id})
        if msg is not None:
            entries = msg.setdefault("reactions", [])
            entry = next((e for e in entries if e["name"] == name), None)
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                entries.append(entry)
            entry["users"].append(self.bot_user_id)
            entry["count"] += 1
        return {}

    def _m_files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        length = params.get("length")
        if not filename or length in (None, ""):
            raise _ApiError("invalid_arguments")
        try:
            length = int(length)
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments") from None
        file_id = self._next_id("F")
        f = self._new_file_object(file_id, str(filename), str(filename), self.bot_user_id, length)
        if params.get("alt_txt"):
            f["alt_txt"] = params["alt_txt"]
        f["_uploaded"] = False
        f["_completed"] = False
        self._files[file_id] = f
        return {"upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}

    def _m_files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments")
        files: list[dict[str, Any]] = []
        for item in items:
            fid = item.get("id") if isinstance(item, dict) else None
            f = self._files.get(fid or "")
            if f is None or not f.get("_uploaded") or f.get("_completed"):
                raise _ApiError("file_not_found")
            files.append(f)
        targets: list[dict[str, Any]] = []
        for raw in ([params["channel_id"]] if params.get("channel_id") else []) + _split_ids(params.get("channels")):
            ch = self._channel_for_write({"channel": raw})
            if ch not in targets:
                targets.append(ch)
        thread_ts = params.get("thread_ts")
        if thread_ts and len(targets) > 1:
            raise _ApiError("invalid_arguments")
        for item, f in zip(items, files):
            if item.get("title"):
                f["title"] = item["title"]
            f["_completed"] = True
        for ch in targets:
            text = params.get("initial_comment") or ""
            msg: dict[str, Any] = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "text": text,
                "upload": True,
                "display_as_bot": False,
                "files": [],
            }
            if not text and params.get("blocks"):
                msg["blocks"] = params["blocks"]
            stored = self._store_message(ch["id"], msg, thread_ts=thread_ts)
            kind = "public" if ch["is_channel"] else "private"
            for f in files:
                share = {"ts": stored["ts"], "channel_name": ch["name"], "team_id": self.team_id}
                if stored.get("thread_ts"):
                    share["thread_ts"] = stored["thread_ts"]
                f["shares"].setdefault(kind, {}).setdefault(ch["id"], []).append(share)
                bucket = "ims" if ch["is_im"] else ("channels" if ch["is_channel"] else "groups")
                if ch["id"] not in f[bucket]:
                    f[bucket].append(ch["id"])
            stored["files"] = [self._public_file(f) for f in files]
        return {"files": [self._public_file(f) for f in files]}

    def _public_file(self, f: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in f.items() if not k.startswith("_")}

    def _m_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        f = self._files.get(params.get("file") or "")
        if f is None:
            raise _ApiError("file_not_found")
        return {"file": self._public_file(f), "comments": [], "response_metadata": {"next_cursor": ""}}


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._m_auth_test,
    "chat.postMessage": FakeSlack._m_chat_post_message,
    "chat.update": FakeSlack._m_chat_update,
    "chat.postEphemeral": FakeSlack._m_chat_post_ephemeral,
    "chat.getPermalink": FakeSlack._m_chat_get_permalink,
    "views.open": FakeSlack._m_views_open,
    "views.push": FakeSlack._m_views_push,
    "views.update": FakeSlack._m_views_update,
    "views.publish": FakeSlack._m_views_publish,
    "users.info": FakeSlack._m_users_info,
    "conversations.open": FakeSlack._m_conversations_open,
    "conversations.info": FakeSlack._m_conversations_info,
    "conversations.history": FakeSlack._m_conversations_history,
    "conversations.replies": FakeSlack._m_conversations_replies,
    "reactions.add": FakeSlack._m_reactions_add,
    "files.getUploadURLExternal": FakeSlack._m_files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._m_files_complete_upload_external,
    "files.info": FakeSlack._m_files_info,
}


def _tz_offset(tz: str) -> int:
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
    except Exception:  # noqa: BLE001 - unknown zone / no tzdata: fall back to UTC
        return 0


def _short(params: dict[str, Any], limit: int = 160) -> str:
    text = json.dumps(params, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
