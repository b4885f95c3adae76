"""A fake Telegram Bot API server for tests.

``FakeTelegram`` is a real HTTP server (``http.server.ThreadingHTTPServer`` on
127.0.0.1, random port, daemon thread) that speaks enough of the Telegram Bot API
for the *real* python-telegram-bot to be pointed at it::

    with FakeTelegram() as fake:
        fake.add_chat(-1001, "supergroup", "Support", is_forum=True, bot_admin=True)
        bot = telegram.Bot(fake.token, base_url=fake.base_url,
                           base_file_url=fake.base_file_url)
        ...

URLs follow PTB's scheme: ``{base_url}{token}/{method}`` with
``base_url == "http://127.0.0.1:PORT/bot"`` and files under
``{base_file_url}{token}/{file_path}``.

The server is stateful (chats, users, per-chat message history, forum topics,
files, commands, webhook, update queue) and validates requests the way real
Telegram does (chat not found / bot kicked / blocked by user, message and
caption length, callback_data size, HTML / MarkdownV2 entity parsing, "message is
not modified", reply target and forum-thread checks, ...).  Faults can be
scripted (``fail_next``, ``rate_limit_next``, ``delay_next``) and flood limits
can be enforced (``enforce_limits``) with a ``time_scale`` to keep tests fast.

All state is guarded by one re-entrant lock (``self._cond`` is a Condition built
on it); every public helper is safe to call from any thread and returns deep
copies, never live state.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import math
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FakeTelegram", "TelegramAPIError", "parse_html", "parse_markdown_v2", "DEFAULT_TOKEN"]

DEFAULT_TOKEN = "123456:TEST-token"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

# update types Telegram sends when allowed_updates is empty/unset
_NOT_DEFAULT_UPDATE_TYPES = {"chat_member", "message_reaction", "message_reaction_count"}

# Parameters that PTB sends as raw strings (everything else is JSON encoded by PTB
# and is decoded here with json.loads, falling back to the raw string).
_RAW_STRING_PARAMS = {
    "text",
    "caption",
    "parse_mode",
    "name",
    "callback_query_id",
    "url",
    "secret_token",
    "file_id",
    "photo",
    "document",
    "language_code",
    "title",
    "description",
    "short_description",
    "icon_custom_emoji_id",
    "inline_message_id",
    "action",
    "ip_address",
    "custom_title",
    "emoji",
    "question",
}


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _slice16(s: str, offset: int, length: int) -> str:
    raw = s.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


class TelegramAPIError(Exception):
    """Raised inside API handlers; turned into ``{"ok": false, ...}`` responses."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {description}")


def _forbidden(description: str) -> TelegramAPIError:
    return TelegramAPIError(403, f"Forbidden: {description}")


# --------------------------------------------------------------------------------------
# entity parsing (HTML, MarkdownV2, legacy Markdown)
# --------------------------------------------------------------------------------------


class _EntityParseError(ValueError):
    pass


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.len16 = 0

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.len16 += _utf16_len(s)

    def text(self) -> str:
        return "".join(self.parts)


def _sort_entities(entities: list[dict]) -> list[dict]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});")
_HTML_TAG_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_HTML_ATTR_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _html_unescape_attr(value: str) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name[:2] in ("#x", "#X"):
            return chr(int(name[2:], 16))
        if name[0] == "#":
            return chr(int(name[1:]))
        return _HTML_NAMED_ENTITIES.get(name.lower(), m.group(0))

    return _HTML_ENTITY_RE.sub(repl, value)


def parse_html(src: str) -> tuple[str, list[dict]]:
    """Parse Telegram-flavoured HTML. Returns (plain_text, entities) with UTF-16 offsets.

    Raises ``ValueError`` with a Telegram-like message on malformed input.
    """
    out = _TextBuilder()
    stack: list[dict] = []
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _HTML_ENTITY_RE.match(src, i)
            if not m:
                raise _EntityParseError(
                    f'Character "&" at byte offset {_byte_offset(src, i)} must be escaped as "&amp;"'
                )
            name = m.group(1)
            try:
                if name[:2] in ("#x", "#X"):
                    ch = chr(int(name[2:], 16))
                elif name[0] == "#":
                    ch = chr(int(name[1:]))
                elif name.lower() in _HTML_NAMED_ENTITIES:
                    ch = _HTML_NAMED_ENTITIES[name.lower()]
                else:
                    raise _EntityParseError(
                        f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(src, i)}'
                    )
            except (ValueError, OverflowError) as exc:
                if isinstance(exc, _EntityParseError):
                    raise
                raise _EntityParseError(
                    f"Invalid HTML entity at byte offset {_byte_offset(src, i)}"
                ) from None
            if ch == "\x00":
                raise _EntityParseError(f"Invalid HTML entity at byte offset {_byte_offset(src, i)}")
            out.add(ch)
            i = m.end()
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        # a tag
        tag_pos = i
        if src.startswith("</", i):
            end = src.find(">", i)
            if end == -1:
                raise _EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(src, i)}")
            name = src[i + 2 : end].strip().lower()
            if not stack:
                raise _EntityParseError(
                    f'Unexpected end tag "</{name}>" at byte offset {_byte_offset(src, i)}'
                )
            top = stack[-1]
            if top["tag"] != name:
                raise _EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, i)}, "
                    f'expected "</{top["tag"]}>", found "</{name}>"'
                )
            stack.pop()
            length = out.len16 - top["offset"]
            etype = top["type"]
            if etype == "code" and stack and stack[-1]["tag"] == "pre" and top.get("language"):
                # <pre><code class="language-x"> -> pre entity with language
                stack[-1]["language"] = top["language"]
            elif length > 0 and etype is not None:
                entity = {"type": etype, "offset": top["offset"], "length": length}
                if etype == "text_link":
                    entity["url"] = top["url"]
                if etype == "pre" and top.get("language"):
                    entity["language"] = top["language"]
                entities.append(entity)
            i = end + 1
            continue
        m = _HTML_TAG_NAME_RE.match(src, i + 1)
        if not m:
            raise _EntityParseError(
                f'Unsupported start tag "" at byte offset {_byte_offset(src, tag_pos)}'
            )
        name = m.group(0).lower()
        if name not in _HTML_TAGS:
            raise _EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, tag_pos)}'
            )
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise _EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(src, tag_pos)}"
                )
            if src[j] == ">":
                j += 1
                break
            if src[j] == "/" and j + 1 < n and src[j + 1] == ">":
                j += 2
                break
            am = _HTML_ATTR_NAME_RE.match(src, j)
            if not am:
                raise _EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(src, tag_pos)}"
                )
            aname = am.group(0).lower()
            j = am.end()
            while j < n and src[j].isspace():
                j += 1
            value = ""
            if j < n and src[j] == "=":
                j += 1
                while j < n and src[j].isspace():
                    j += 1
                if j < n and src[j] in "\"'":
                    quote = src[j]
                    close = src.find(quote, j + 1)
                    if close == -1:
                        raise _EntityParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(src, tag_pos)}"
                        )
                    value = src[j + 1 : close]
                    j = close + 1
                else:
                    vs = j
                    while j < n and not src[j].isspace() and src[j] != ">":
                        j += 1
                    value = src[vs:j]
            attrs[aname] = _html_unescape_attr(value)
        frame: dict[str, Any] = {"tag": name, "type": _HTML_TAGS[name], "offset": out.len16}
        if name == "span":
            if attrs.get("class") != "tg-spoiler":
                raise _EntityParseError('Tag "span" must have class "tg-spoiler"')
        elif name == "a":
            href = attrs.get("href")
            if not href:
                frame["type"] = None  # <a> without href: plain text
            else:
                frame["url"] = href
        elif name == "code":
            cls = attrs.get("class", "")
            if cls.startswith("language-"):
                frame["language"] = cls[len("language-") :]
        elif name == "blockquote":
            if "expandable" in attrs:
                frame["type"] = "expandable_blockquote"
        stack.append(frame)
        i = j
    if stack:
        raise _EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"'
        )
    return out.text(), _sort_entities(entities)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"),
}


def _find_unescaped(src: str, token: str, start: int) -> int:
    j = start
    while j < len(src):
        if src[j] == "\\":
            j += 2
            continue
        if src.startswith(token, j):
            return j
        j += 1
    return -1


def _unescape_md(s: str, chars: str) -> str:
    return re.sub(r"\\([%s])" % re.escape(chars), r"\1", s)


def parse_markdown_v2(src: str) -> tuple[str, list[dict]]:
    """Reasonable MarkdownV2 parser: reserved characters must be escaped, entities closed."""
    out = _TextBuilder()
    stack: list[dict] = []
    entities: list[dict] = []
    i, n = 0, len(src)
    quote_start: int | None = None
    at_line_start = True
    while i < n:
        c = src[i]
        if at_line_start:
            at_line_start = False
            if c == ">":
                if quote_start is None:
                    quote_start = out.len16
                i += 1
                continue
            if quote_start is not None:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": out.len16 - quote_start}
                )
                quote_start = None
        if c == "\\":
            if i + 1 < n and 1 <= ord(src[i + 1]) <= 126:
                out.add(src[i + 1])
                i += 2
                continue
            raise _EntityParseError(
                f"Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if c == "`":
            is_pre = src.startswith("```", i)
            token = "```" if is_pre else "`"
            end = _find_unescaped(src, token, i + len(token))
            if end == -1:
                kind = "Pre" if is_pre else "Code"
                raise _EntityParseError(
                    f"Can't find end of {kind} entity at byte offset {_byte_offset(src, i)}"
                )
            body = src[i + len(token) : end]
            language = None
            if is_pre and "\n" in body:
                first, rest = body.split("\n", 1)
                language, body = first.strip() or None, rest
            body = _unescape_md(body, "`\\")
            start = out.len16
            out.add(body)
            if body:
                entity = {"type": "pre" if is_pre else "code", "offset": start, "length": out.len16 - start}
                if language:
                    entity["language"] = language
                entities.append(entity)
            i = end + len(token)
            continue
        if c in "*_~|":
            if c == "_" and src.startswith("__", i):
                marker = "__"
            elif c == "|":
                if not src.startswith("||", i):
                    raise _EntityParseError(
                        "Character '|' is reserved and must be escaped with the preceding '\\'"
                    )
                marker = "||"
            else:
                marker = c
            idx = next((k for k in range(len(stack) - 1, -1, -1) if stack[k]["marker"] == marker), None)
            if idx is None:
                stack.append({"marker": marker, "offset": out.len16, "pos": i})
            else:
                frame = stack.pop(idx)
                if out.len16 > frame["offset"]:
                    entities.append(
                        {
                            "type": _MDV2_NAMES[marker][0],
                            "offset": frame["offset"],
                            "length": out.len16 - frame["offset"],
                        }
                    )
            i += len(marker)
            continue
        if c == "[":
            stack.append({"marker": "[", "offset": out.len16, "pos": i})
            i += 1
            continue
        if c == "]":
            idx = next((k for k in range(len(stack) - 1, -1, -1) if stack[k]["marker"] == "["), None)
            if idx is None:
                raise _EntityParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            frame = stack.pop(idx)
            if i + 1 >= n or src[i + 1] != "(":
                raise _EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(src, frame['pos'])}"
                )
            close = _find_unescaped(src, ")", i + 2)
            if close == -1:
                raise _EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(src, i + 1)}"
                )
            url = _unescape_md(src[i + 2 : close], ")\\")
            if out.len16 > frame["offset"]:
                entities.append(
                    {"type": "text_link", "offset": frame["offset"], "length": out.len16 - frame["offset"], "url": url}
                )
            i = close + 1
            continue
        if c in _MDV2_RESERVED:
            raise _EntityParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        out.add(c)
        if c == "\n":
            at_line_start = True
        i += 1
    if quote_start is not None:
        entities.append({"type": "blockquote", "offset": quote_start, "length": out.len16 - quote_start})
    if stack:
        frame = stack[-1]
        raise _EntityParseError(
            f"Can't find end of {_MDV2_NAMES[frame['marker']][1]} entity at byte offset "
            f"{_byte_offset(src, frame['pos'])}"
        )
    return out.text(), _sort_entities(entities)


def parse_markdown(src: str) -> tuple[str, list[dict]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out = _TextBuilder()
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if c in "*_`[":
            if c == "[":
                close = src.find("](", i + 1)
                end = src.find(")", close + 2) if close != -1 else -1
                if close == -1 or end == -1:
                    raise _EntityParseError(
                        f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
                    )
                start = out.len16
                out.add(src[i + 1 : close])
                if out.len16 > start:
                    entities.append(
                        {"type": "text_link", "offset": start, "length": out.len16 - start, "url": src[close + 2 : end]}
                    )
                i = end + 1
                continue
            token = "```" if src.startswith("```", i) else c
            end = src.find(token, i + len(token))
            if end == -1:
                raise _EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
                )
            body = src[i + len(token) : end]
            etype = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[token]
            start = out.len16
            out.add(body)
            if out.len16 > start:
                entities.append({"type": etype, "offset": start, "length": out.len16 - start})
            i = end + len(token)
            continue
        out.add(c)
        i += 1
    return out.text(), entities


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}")


def _auto_entities(text: str | None) -> list[dict]:
    """Entities real Telegram clients/servers attach to user text: bot_command and mention."""
    if not text:
        return []
    entities = []
    for regex, etype in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for m in regex.finditer(text):
            entities.append(
                {
                    "type": etype,
                    "offset": _utf16_len(text[: m.start()]),
                    "length": _utf16_len(m.group(0)),
                }
            )
    return _sort_entities(entities)


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, fake: "FakeTelegram"):
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
        pass

    def setup(self) -> None:
        super().setup()
        # headers and body are written separately: without TCP_NODELAY, Nagle + delayed ACK
        # would add ~40 ms to every request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track_connection(self.connection, add=True)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track_connection(self.connection, add=False)  # type: ignore[attr-defined]

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline().strip()
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        try:
            body = self._read_body()
            status, ctype, payload = self.server.fake._handle_http(  # type: ignore[attr-defined]
                self.command, self.path, self.headers, body
            )
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            self.close_connection = True

    do_GET = _handle
    do_POST = _handle
    do_HEAD = _handle


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, dict]]:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError("no multipart boundary")
    delim = b"--" + m.group(1).encode("latin-1")
    params: dict[str, str] = {}
    files: dict[str, dict] = {}
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        nm = re.search(r'(?:^|;)\s*name="((?:[^"\\]|\\.)*)"', disp)
        if not nm:
            continue
        name = nm.group(1)
        fm = re.search(r'(?:^|;)\s*filename="((?:[^"\\]|\\.)*)"', disp)
        if fm is not None:
            files[name] = {
                "filename": fm.group(1),
                "content": content,
                "mime_type": headers.get("content-type", "application/octet-stream"),
            }
        else:
            params[name] = content.decode("utf-8")
    return params, files


def _decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


# --------------------------------------------------------------------------------------
# the fake
# --------------------------------------------------------------------------------------


class FakeTelegram:
    """Stateful fake Telegram Bot API server. See module docstring."""

    #: methods subject to ``enforce_limits`` (lower-case). Override per instance if needed.
    RATE_LIMITED_METHODS = frozenset(
        {
            "sendmessage",
            "sendphoto",
            "senddocument",
            "sendmediagroup",
            "copymessage",
            "forwardmessage",
            "editmessagetext",
            "editmessagereplymarkup",
            "editmessagecaption",
        }
    )

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int = 999,
        bot_first_name: str = "Afterdesk",
        bot_username: str = "AfterdeskBot",
        privacy_mode: bool = True,
        time_scale: float = 1.0,
        long_poll_cap: float = 1.0,
        webhook_require_https: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self._token = token
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        #: groups where the bot is not admin only deliver commands, replies to the bot and
        #: @mentions (real privacy mode; getMe reports can_read_all_group_messages accordingly)
        self.privacy_mode = privacy_mode
        #: multiplies every enforced-limit interval (0.01 => limits 100x faster)
        self.time_scale = time_scale
        #: getUpdates long-poll waits at most this many (real) seconds
        self.long_poll_cap = long_poll_cap
        self.webhook_require_https = webhook_require_https
        self.rate_limited_methods = set(self.RATE_LIMITED_METHODS)
        self._host = host

        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._stopping = False

        self._users: dict[int, dict] = {}
        self._chats: dict[int, dict] = {}
        self._messages: dict[int, dict[int, dict]] = {}
        self._next_message_id: dict[int, int] = {}
        self._topics: dict[int, dict[int, dict]] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._files: dict[str, dict] = {}
        self._file_paths: dict[str, str] = {}
        self._file_seq = 0
        self._updates: list[dict] = []
        self._next_update_id = 1000
        self._allowed_updates: list[str] = []
        self._dropped_updates: list[dict] = []
        self._poll_generation = 0
        self._callbacks: dict[str, dict] = {}
        self._callback_seq = 0
        self._answered_callbacks: list[dict] = []
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._webhook: dict[str, Any] = self._empty_webhook()
        self._call_log: list[dict] = []
        self._faults: list[dict] = []
        self._delays: list[dict] = []
        self._limits: dict[str, float | None] | None = None
        self._last_send_in_chat: dict[Any, float] = {}
        self._group_send_log: dict[Any, collections.deque] = {}
        self._global_send_log: collections.deque = collections.deque()
        self.rate_limited_count = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeTelegram":
        if self._server is not None:
            return self
        self._stopping = False
        self._server = _Server((self._host, 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="FakeTelegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        with self._cond:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> "FakeTelegram":
        return self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def _track_connection(self, conn: socket.socket, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ------------------------------------------------------------------ properties

    @property
    def token(self) -> str:
        return self._token

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends the token, then ``/method``."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(base_file_url=...)``: PTB appends the token, then ``/file_path``."""
        return f"{self.root_url}/file/bot"

    def api_url(self, method: str) -> str:
        return f"{self.base_url}{self._token}/{method}"

    @property
    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ------------------------------------------------------------------ state setup

    def add_user(
        self,
        id: int,  # noqa: A002
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        with self._cond:
            user = self._users.get(id)
            if user is None:
                user = {"id": id, "is_bot": False, "first_name": first_name, "started": False, "blocked": False}
                self._users[id] = user
            user["first_name"] = first_name
            for key, value in (("username", username), ("last_name", last_name), ("language_code", language_code)):
                if value is not None:
                    user[key] = value
            self._cond.notify_all()
            return copy.deepcopy(user)

    def add_chat(
        self,
        id: int,  # noqa: A002
        type: str,  # noqa: A002
        title: str | None = None,
        is_forum: bool = False,
        bot_admin: bool = False,
        *,
        username: str | None = None,
        can_manage_topics: bool | None = None,
        bot_member: bool = True,
    ) -> dict:
        """Create (or update) a chat. ``type`` is private/group/supergroup/channel.

        A private chat's id is the user's id; creating it means the user has started the
        bot (the bot may DM them). ``can_manage_topics`` defaults to ``bot_admin``.
        """
        if type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"bad chat type {type!r}")
        if is_forum and type != "supergroup":
            raise ValueError("only supergroups can be forums")
        with self._cond:
            if type == "private":
                if id not in self._users:
                    self.add_user(id, title or f"User {id}")
                user = self._users[id]
                user["started"] = True
                user["blocked"] = False
                chat = {
                    "id": id,
                    "type": "private",
                    "first_name": user["first_name"],
                    "is_forum": False,
                    "bot_is_member": True,
                    "bot_is_admin": False,
                    "can_manage_topics": False,
                }
                if user.get("username"):
                    chat["username"] = user["username"]
            else:
                chat = {
                    "id": id,
                    "type": type,
                    "title": title or f"Chat {id}",
                    "is_forum": bool(is_forum),
                    "bot_is_member": bool(bot_member),
                    "bot_is_admin": bool(bot_admin and bot_member),
                    "can_manage_topics": bool(
                        (bot_admin if can_manage_topics is None else can_manage_topics) and bot_member
                    ),
                }
                if username:
                    chat["username"] = username.lstrip("@")
            old = self._chats.get(id)
            if old is not None:
                old.update(chat)
                chat = old
            else:
                self._chats[id] = chat
                self._messages.setdefault(id, {})
                self._next_message_id.setdefault(id, 1)
                self._topics.setdefault(id, {})
            self._cond.notify_all()
            return copy.deepcopy(chat)

    def add_bot_to(self, chat_id: int, admin: bool = False, can_manage_topics: bool | None = None) -> None:
        with self._cond:
            chat = self._require_chat(chat_id)
            chat["bot_is_member"] = True
            chat["bot_is_admin"] = bool(admin)
            chat["can_manage_topics"] = bool(admin if can_manage_topics is None else can_manage_topics)
            self._cond.notify_all()

    def remove_bot_from(self, chat_id: int) -> None:
        """The bot was kicked: sends answer 403 "bot was kicked from the ... chat"."""
        with self._cond:
            chat = self._require_chat(chat_id)
            chat["bot_is_member"] = False
            chat["bot_is_admin"] = False
            chat["can_manage_topics"] = False
            self._cond.notify_all()

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """status for getChatMember: creator/administrator/member/left/kicked."""
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(status)
        with self._cond:
            self._members[(chat_id, user_id)] = status

    def user_starts_bot(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        *,
        send_start: bool = False,
    ) -> dict | None:
        """The user opened the bot: private chat exists, bot can DM them.

        With ``send_start=True`` also queues the ``/start`` message update and returns it.
        """
        with self._cond:
            if user_id not in self._users or first_name or username:
                existing = self._users.get(user_id, {})
                self.add_user(user_id, first_name or existing.get("first_name") or f"User {user_id}", username)
            self.add_chat(user_id, "private")
        if send_start:
            return self.user_sends(user_id, user_id, "/start")
        return None

    def user_blocks_bot(self, user_id: int) -> None:
        with self._cond:
            if user_id not in self._users:
                self.add_user(user_id, f"User {user_id}")
            self._users[user_id]["blocked"] = True
            self._cond.notify_all()

    def user_unblocks_bot(self, user_id: int) -> None:
        with self._cond:
            self._users[user_id]["blocked"] = False
            self._cond.notify_all()

    def add_file(
        self,
        content: bytes = b"",
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Register a file (kind "photo" or "document") and return its file_id."""
        with self._cond:
            if kind == "photo":
                return self._new_photo(content or _FAKE_JPEG)[-1]["file_id"]
            return self._new_document(content, file_name or "file.bin", mime_type)["file_id"]

    def file_content(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id]["content"]

    # ------------------------------------------------------------------ inspection

    def chat(self, chat_id: int) -> dict:
        with self._cond:
            return copy.deepcopy(self._require_chat(chat_id))

    def user(self, user_id: int) -> dict:
        with self._cond:
            return copy.deepcopy(self._users[user_id])

    def messages(self, chat_id: int, thread_id: int | None = None, *, include_deleted: bool = False) -> list[dict]:
        """Stored message records of a chat, oldest first (optionally only one forum topic)."""
        with self._cond:
            recs = self._messages.get(chat_id, {}).values()
            return copy.deepcopy(
                [
                    r
                    for r in recs
                    if (include_deleted or not r["deleted"])
                    and (thread_id is None or r["message_thread_id"] == thread_id)
                ]
            )

    def bot_messages(self, chat_id: int, thread_id: int | None = None) -> list[dict]:
        """Messages sent by the bot (service messages excluded)."""
        return [
            m
            for m in self.messages(chat_id, thread_id)
            if m["from"]["id"] == self.bot_id and not m["service"]
        ]

    def last_bot_message(self, chat_id: int, thread_id: int | None = None) -> dict | None:
        msgs = self.bot_messages(chat_id, thread_id)
        return msgs[-1] if msgs else None

    def message(self, chat_id: int, message_id: int) -> dict:
        with self._cond:
            try:
                return copy.deepcopy(self._messages[chat_id][message_id])
            except KeyError:
                raise KeyError(f"no message {message_id} in chat {chat_id}") from None

    def message_api(self, chat_id: int, message_id: int) -> dict:
        """The message as the Bot API would render it (a Message JSON object)."""
        with self._cond:
            return self._message_api(self._messages[chat_id][message_id])

    def replies_to(self, chat_id: int, message_id: int) -> list[dict]:
        return [m for m in self.messages(chat_id) if m["reply_to_message_id"] == message_id]

    def topics(self, chat_id: int) -> list[dict]:
        with self._cond:
            return copy.deepcopy(list(self._topics.get(chat_id, {}).values()))

    @property
    def answered_callbacks(self) -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._answered_callbacks)

    @property
    def registered_commands(self) -> list[dict]:
        """Commands set with setMyCommands for the default scope and no language."""
        return self.commands_for()

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def webhook(self) -> dict:
        """Current webhook: url ("" if none), secret_token, allowed_updates, max_connections."""
        with self._cond:
            return copy.deepcopy(self._webhook)

    @property
    def calls(self) -> list[tuple[str, dict]]:
        """Every API call as (method, decoded params), including failed ones."""
        with self._cond:
            return [(c["method"], copy.deepcopy(c["params"])) for c in self._call_log]

    @property
    def call_log(self) -> list[dict]:
        """Like calls, with the answer: dicts of method, params, status, description."""
        with self._cond:
            return copy.deepcopy(self._call_log)

    @property
    def failed_calls(self) -> list[dict]:
        return [c for c in self.call_log if c["status"] != 200]

    def calls_to(self, method: str) -> list[dict]:
        """Params of every call to ``method`` (case-insensitive)."""
        m = method.lower()
        return [params for name, params in self.calls if name.lower() == m]

    def clear_calls(self) -> None:
        with self._cond:
            self._call_log.clear()

    @property
    def pending_updates(self) -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._updates)

    @property
    def dropped_updates(self) -> list[dict]:
        """Updates not delivered because of privacy mode / bot not in the chat."""
        with self._cond:
            return copy.deepcopy(self._dropped_updates)

    # ------------------------------------------------------------------ faults & limits

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        times: int = 1,
        chat_id: int | str | None = None,
        parameters: dict | None = None,
    ) -> None:
        """The next ``times`` calls to ``method`` ("*" = any) answer with this error."""
        with self._cond:
            self._faults.append(
                {
                    "method": method.lower(),
                    "code": code,
                    "description": description,
                    "parameters": parameters,
                    "remaining": times,
                    "chat_id": self._norm_chat_id(chat_id),
                }
            )

    def rate_limit_next(
        self, method: str, retry_after: int, times: int = 1, chat_id: int | str | None = None
    ) -> None:
        """The next ``times`` calls answer 429 with ``parameters.retry_after``."""
        self.fail_next(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            times=times,
            chat_id=chat_id,
            parameters={"retry_after": retry_after},
        )

    def delay_next(self, method: str, seconds: float, times: int = 1, chat_id: int | str | None = None) -> None:
        """Answer the next ``times`` calls only after sleeping ``seconds`` (timeout tests)."""
        with self._cond:
            self._delays.append(
                {"method": method.lower(), "seconds": seconds, "remaining": times, "chat_id": self._norm_chat_id(chat_id)}
            )

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()
            self._delays.clear()

    def enforce_limits(
        self,
        per_chat_per_second: float | None = 1.0,
        per_group_per_minute: int | None = 20,
        global_per_second: int | None = 30,
        *,
        time_scale: float | None = None,
    ) -> None:
        """Answer 429 when sends exceed these limits (None disables one).

        Intervals are multiplied by ``time_scale``. ``retry_after`` is reported in scaled
        seconds as an int >= 1; ``parameters.retry_after_ms`` holds the precise real wait.
        """
        with self._cond:
            if time_scale is not None:
                self.time_scale = time_scale
            self._limits = {
                "per_chat_per_second": per_chat_per_second,
                "per_group_per_minute": per_group_per_minute,
                "global_per_second": global_per_second,
            }
            self._last_send_in_chat.clear()
            self._group_send_log.clear()
            self._global_send_log.clear()

    def disable_limits(self) -> None:
        with self._cond:
            self._limits = None

    # ------------------------------------------------------------------ user actions

    def user_sends(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        reply_to: int | dict | None = None,
        message_thread_id: int | None = None,
        photo: bool | bytes = False,
        document: str | bytes | tuple | bool | None = None,
        entities: list[dict] | None = None,
        *,
        queue: bool = True,
    ) -> dict:
        """A user posts a message; stores it and queues a ``message`` update (returned).

        ``text`` is the caption when ``photo``/``document`` is given. ``photo`` may be True
        or JPEG bytes; ``document`` a file name, bytes, (file_name, bytes) or True.
        ``entities=None`` auto-detects bot_command / mention entities.
        In private chats the user becomes "started" (and unblocks the bot).
        """
        with self._cond:
            if user_id not in self._users:
                self.add_user(user_id, f"User {user_id}")
            if chat_id not in self._chats:
                if chat_id == user_id:
                    self.add_chat(user_id, "private")
                else:
                    raise ValueError(f"unknown chat {chat_id}; call add_chat() first")
            chat = self._chats[chat_id]
            user = self._users[user_id]
            if chat["type"] == "private":
                if chat_id != user_id:
                    raise ValueError("in a private chat only its user can send")
                user["started"] = True
                user["blocked"] = False
            reply_id = reply_to["message_id"] if isinstance(reply_to, dict) else reply_to
            if reply_id is not None:
                target = self._messages[chat_id].get(reply_id)
                if target is None or target["deleted"]:
                    raise ValueError(f"no message {reply_id} to reply to in chat {chat_id}")
                if message_thread_id is None:
                    message_thread_id = target["message_thread_id"]
            if message_thread_id is not None and message_thread_id not in self._topics[chat_id]:
                raise ValueError(f"no forum topic {message_thread_id} in chat {chat_id}")
            photo_sizes = None
            doc = None
            if photo:
                photo_sizes = self._new_photo(photo if isinstance(photo, (bytes, bytearray)) else _FAKE_JPEG)
            if document is not None and document is not False:
                if isinstance(document, tuple):
                    name, content = document
                elif isinstance(document, (bytes, bytearray)):
                    name, content = "document.bin", bytes(document)
                elif isinstance(document, str):
                    name, content = document, f"content of {document}".encode()
                else:
                    name, content = "document.bin", b"fake document"
                doc = self._new_document(content, name, None)
            media = photo_sizes is not None or doc is not None
            ents = _auto_entities(text) if entities is None else list(entities)
            rec = self._store_message(
                chat,
                sender=self._user_api(user),
                text=None if media else text,
                caption=text if media else None,
                entities=None if media else ents,
                caption_entities=ents if media else None,
                reply_to=reply_id,
                thread_id=message_thread_id,
                photo_sizes=photo_sizes,
                document=doc,
            )
            update = {"update_id": self._take_update_id(), "message": self._message_api(rec)}
            self._deliver(update, chat, rec, queue)
            return copy.deepcopy(update)

    def next_update(self, chat_id: int, user_id: int, text: str | None = None, **kwargs: Any) -> dict:
        """Like ``user_sends`` (message is stored) but the update is NOT queued (webhook tests)."""
        return self.user_sends(chat_id, user_id, text, queue=False, **kwargs)

    def user_edits(self, chat_id: int, message_id: int, new_text: str, *, queue: bool = True) -> dict:
        """The author edits their message: queues an ``edited_message`` update (returned)."""
        with self._cond:
            chat = self._require_chat(chat_id)
            rec = self._messages[chat_id].get(message_id)
            if rec is None or rec["deleted"]:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            self._push_history(rec)
            ents = _auto_entities(new_text)
            if rec["text"] is not None:
                rec["text"] = rec["plain_text"] = new_text
                rec["entities"] = ents
            else:
                rec["caption"] = rec["plain_caption"] = new_text
                rec["caption_entities"] = ents
            rec["edit_date"] = self._now()
            update = {"update_id": self._take_update_id(), "edited_message": self._message_api(rec)}
            self._deliver(update, chat, rec, queue)
            return copy.deepcopy(update)

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        data: str,
        *,
        queue: bool = True,
        check_button: bool = True,
    ) -> dict:
        """A user presses an inline button; queues a ``callback_query`` update (returned).

        With ``check_button`` (default) the message must currently carry a button with
        this callback_data, as on real Telegram.
        """
        with self._cond:
            self._require_chat(chat_id)
            if user_id not in self._users:
                self.add_user(user_id, f"User {user_id}")
            rec = self._messages[chat_id].get(message_id)
            if rec is None or rec["deleted"]:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            if check_button:
                buttons = [
                    b.get("callback_data")
                    for row in (rec["reply_markup"] or {}).get("inline_keyboard", [])
                    for b in row
                ]
                if data not in buttons:
                    raise ValueError(
                        f"message {message_id} has no button with callback_data {data!r}; has {buttons}"
                    )
            self._callback_seq += 1
            cq_id = f"{4000000000000000000 + self._callback_seq}"
            callback = {
                "id": cq_id,
                "from": self._user_api(self._users[user_id]),
                "message": self._message_api(rec),
                "chat_instance": f"{abs(chat_id) * 7919 + 13}",
                "data": data,
            }
            self._callbacks[cq_id] = {"answered": False, "chat_id": chat_id, "message_id": message_id, "data": data}
            update = {"update_id": self._take_update_id(), "callback_query": callback}
            if queue:
                self._updates.append(update)
            self._cond.notify_all()
            return copy.deepcopy(update)

    def queue_update(self, update: dict) -> dict:
        """Queue an arbitrary raw update (update_id assigned if missing)."""
        with self._cond:
            update = copy.deepcopy(update)
            if "update_id" not in update:
                update["update_id"] = self._take_update_id()
            self._updates.append(update)
            self._cond.notify_all()
            return copy.deepcopy(update)

    # ------------------------------------------------------------------ waiting

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01, message: str | None = None
    ) -> Any:
        """Block (thread) until ``predicate()`` is truthy; return its value.

        Raises AssertionError with a state summary on timeout. Do not call from a
        coroutine running the bot's event loop - use ``async_wait_for`` there.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{message or 'condition'} not met within {timeout}s\n{self.summary()}"
                )
            with self._cond:
                self._cond.wait(min(interval, remaining))

    async def async_wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01, message: str | None = None
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{message or 'condition'} not met within {timeout}s\n{self.summary()}"
                )
            await asyncio.sleep(min(interval, remaining))

    def summary(self) -> str:
        with self._cond:
            lines = ["FakeTelegram state:"]
            for chat in self._chats.values():
                msgs = [m for m in self._messages[chat["id"]].values() if not m["deleted"]]
                flags = "member" if chat["bot_is_member"] else "KICKED"
                if chat["bot_is_admin"]:
                    flags += ",admin"
                if chat["is_forum"]:
                    flags += ",forum"
                lines.append(f"  chat {chat['id']} ({chat['type']}, {flags}): {len(msgs)} messages")
                for m in msgs[-5:]:
                    who = "bot" if m["from"]["id"] == self.bot_id else f"user {m['from']['id']}"
                    body = m["text"] if m["text"] is not None else m["caption"]
                    if m["service"]:
                        body = f"<service {m['service']}>"
                    thread = f" [topic {m['message_thread_id']}]" if m["message_thread_id"] else ""
                    lines.append(f"    #{m['message_id']}{thread} {who}: {str(body)[:100]!r}")
            lines.append(
                f"  queued updates: {[u['update_id'] for u in self._updates]}; "
                f"dropped (privacy/not member): {len(self._dropped_updates)}"
            )
            lines.append(f"  webhook: {self._webhook['url']!r}; 429s: {self.rate_limited_count}")
            if self._faults:
                lines.append(f"  pending faults: {self._faults}")
            lines.append(f"  last calls ({len(self._call_log)} total):")
            for c in self._call_log[-15:]:
                params = {k: v for k, v in c["params"].items() if k != "reply_markup"}
                desc = "" if c["status"] == 200 else f" -> {c['status']} {c['description']}"
                lines.append(f"    {c['method']} {str(params)[:160]}{desc}")
            return "\n".join(lines)

    # ------------------------------------------------------------------ internals: state

    @staticmethod
    def _empty_webhook() -> dict:
        return {"url": "", "secret_token": None, "allowed_updates": None, "max_connections": 40}

    @staticmethod
    def _now() -> int:
        return int(time.time())

    def _take_update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id

    def _require_chat(self, chat_id: int) -> dict:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}; call add_chat() first")
        return chat

    @staticmethod
    def _user_api(user: dict) -> dict:
        return {k: v for k, v in user.items() if k in ("id", "is_bot", "first_name", "last_name", "username", "language_code")}

    @staticmethod
    def _chat_api(chat: dict) -> dict:
        out = {"id": chat["id"], "type": chat["type"]}
        for key in ("title", "username", "first_name"):
            if chat.get(key):
                out[key] = chat[key]
        if chat.get("is_forum"):
            out["is_forum"] = True
        return out

    def _norm_chat_id(self, chat_id: Any) -> Any:
        if isinstance(chat_id, str):
            s = chat_id.strip()
            if re.fullmatch(r"-?\d+", s):
                return int(s)
            if s.startswith("@"):
                for chat in self._chats.values():
                    if chat.get("username", "").lower() == s[1:].lower():
                        return chat["id"]
            return s
        if isinstance(chat_id, bool):
            return chat_id
        if isinstance(chat_id, float) and chat_id.is_integer():
            return int(chat_id)
        return chat_id

    def _next_file_seq(self) -> int:
        self._file_seq += 1
        return self._file_seq

    def _new_photo(self, content: bytes) -> list[dict]:
        seq = self._next_file_seq()
        sizes = []
        for suffix, (w, h) in (("s", (90, 68)), ("x", (800, 600))):
            file_id = f"AgACAgFake{seq}{suffix}-{uuid.uuid4().hex[:10]}"
            unique = f"AQADFake{seq}{suffix}"
            self._files[file_id] = {
                "file_id": file_id,
                "file_unique_id": unique,
                "kind": "photo",
                "group": seq,
                "content": bytes(content),
                "file_name": f"photo_{seq}.jpg",
                "mime_type": "image/jpeg",
                "width": w,
                "height": h,
                "file_path": None,
            }
            sizes.append({"file_id": file_id, "file_unique_id": unique, "file_size": len(content), "width": w, "height": h})
        return sizes

    def _new_document(self, content: bytes, file_name: str, mime_type: str | None) -> dict:
        seq = self._next_file_seq()
        file_id = f"BQACAgFake{seq}-{uuid.uuid4().hex[:10]}"
        unique = f"AgADFake{seq}"
        if mime_type is None:
            import mimetypes

            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        self._files[file_id] = {
            "file_id": file_id,
            "file_unique_id": unique,
            "kind": "document",
            "content": bytes(content),
            "file_name": file_name,
            "mime_type": mime_type,
            "file_path": None,
        }
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    def _document_api(self, file_id: str) -> dict:
        f = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f["file_unique_id"],
            "file_name": f["file_name"],
            "mime_type": f["mime_type"],
            "file_size": len(f["content"]),
        }

    def _store_message(
        self,
        chat: dict,
        *,
        sender: dict,
        text: str | None = None,
        plain_text: str | None = None,
        entities: list[dict] | None = None,
        caption: str | None = None,
        plain_caption: str | None = None,
        caption_entities: list[dict] | None = None,
        parse_mode: str | None = None,
        reply_markup: dict | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        photo_sizes: list[dict] | None = None,
        document: dict | None = None,
        service: str | None = None,
        forum_topic_created: dict | None = None,
        link_preview_options: dict | None = None,
        message_id: int | None = None,
    ) -> dict:
        chat_id = chat["id"]
        if message_id is None:
            message_id = self._next_message_id[chat_id]
            self._next_message_id[chat_id] = message_id + 1
        rec = {
            "message_id": message_id,
            "chat_id": chat_id,
            "chat_type": chat["type"],
            "date": self._now(),
            "from": copy.deepcopy(sender),
            "text": text,
            "plain_text": plain_text if plain_text is not None else text,
            "entities": entities or [],
            "caption": caption,
            "plain_caption": plain_caption if plain_caption is not None else caption,
            "caption_entities": caption_entities or [],
            "parse_mode": parse_mode,
            "reply_markup": copy.deepcopy(reply_markup),
            "reply_to_message_id": reply_to,
            "message_thread_id": thread_id,
            "photo": photo_sizes[-1]["file_id"] if photo_sizes else None,
            "photo_sizes": photo_sizes,
            "document": document["file_id"] if document else None,
            "document_name": document["file_name"] if document else None,
            "link_preview_options": link_preview_options,
            "service": service,
            "forum_topic_created": forum_topic_created,
            "edit_date": None,
            "edit_history": [],
            "deleted": False,
        }
        self._messages[chat_id][message_id] = rec
        self._cond.notify_all()
        return rec

    def _push_history(self, rec: dict) -> None:
        rec["edit_history"].append(
            {
                k: copy.deepcopy(rec[k])
                for k in (
                    "text",
                    "plain_text",
                    "entities",
                    "caption",
                    "plain_caption",
                    "caption_entities",
                    "parse_mode",
                    "reply_markup",
                    "edit_date",
                )
            }
        )

    def _message_api(self, rec: dict, nested: bool = True) -> dict:
        chat = self._chats[rec["chat_id"]]
        msg: dict[str, Any] = {
            "message_id": rec["message_id"],
            "from": copy.deepcopy(rec["from"]),
            "chat": self._chat_api(chat),
            "date": rec["date"],
        }
        thread = rec["message_thread_id"]
        if thread is not None:
            msg["message_thread_id"] = thread
            if chat.get("is_forum"):
                msg["is_topic_message"] = True
        if rec["text"] is not None:
            msg["text"] = rec["plain_text"]
            if rec["entities"]:
                msg["entities"] = copy.deepcopy(rec["entities"])
        if rec["photo_sizes"]:
            msg["photo"] = copy.deepcopy(rec["photo_sizes"])
        if rec["document"]:
            msg["document"] = self._document_api(rec["document"])
        if rec["caption"] is not None:
            msg["caption"] = rec["plain_caption"]
            if rec["caption_entities"]:
                msg["caption_entities"] = copy.deepcopy(rec["caption_entities"])
        markup = rec["reply_markup"]
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            msg["reply_markup"] = {"inline_keyboard": copy.deepcopy(markup["inline_keyboard"])}
        if rec["edit_date"]:
            msg["edit_date"] = rec["edit_date"]
        if rec["forum_topic_created"]:
            msg["forum_topic_created"] = copy.deepcopy(rec["forum_topic_created"])
        if nested:
            target_id = rec["reply_to_message_id"]
            if target_id is None and thread is not None and chat.get("is_forum") and not rec["service"]:
                # real Telegram: topic messages "reply" to the forum_topic_created message
                target_id = thread
            target = self._messages[rec["chat_id"]].get(target_id) if target_id is not None else None
            if target is not None:
                msg["reply_to_message"] = self._message_api(target, nested=False)
        return msg

    def _deliver(self, update: dict, chat: dict, rec: dict, queue: bool) -> None:
        if not queue:
            return
        if not self._bot_receives(chat, rec):
            self._dropped_updates.append(update)
        else:
            self._updates.append(update)
        self._cond.notify_all()

    def _bot_receives(self, chat: dict, rec: dict) -> bool:
        if chat["type"] == "private":
            return True
        if not chat["bot_is_member"]:
            return False
        if not self.privacy_mode or chat["bot_is_admin"] or chat["type"] == "channel":
            return True
        body = rec["text"] if rec["text"] is not None else (rec["caption"] or "")
        ents = rec["entities"] if rec["text"] is not None else rec["caption_entities"]
        for e in ents:
            frag = _slice16(body, e["offset"], e["length"])
            if e["type"] == "bot_command":
                if "@" not in frag or frag.split("@", 1)[1].lower() == self.bot_username.lower():
                    return True
            if e["type"] == "mention" and frag[1:].lower() == self.bot_username.lower():
                return True
        target = self._messages[chat["id"]].get(rec["reply_to_message_id"]) if rec["reply_to_message_id"] else None
        return bool(target and target["from"]["id"] == self.bot_id)

    def _commands_key(self, scope: Any, language_code: str | None) -> tuple[str, str]:
        if not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code or ""

    # ------------------------------------------------------------------ internals: HTTP

    def _json_response(self, status: int, payload: dict) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(payload).encode("utf-8")

    def _handle_http(self, verb: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, str, bytes]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :])
        not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
        if not path.startswith("/bot"):
            return self._json_response(404, not_found)
        token, sep, method = path[len("/bot") :].partition("/")
        if token != self._token:
            return self._json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if not sep or not method or "/" in method:
            return self._json_response(404, not_found)
        try:
            params, files = self._parse_params(parts.query, headers, body)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._json_response(
                400, {"ok": False, "error_code": 400, "description": f"Bad Request: can't parse request: {exc}"}
            )
        handler = getattr(self, "_api_" + method.lower(), None)
        logged_params = dict(params)
        for name, f in files.items():
            logged_params[name] = {"upload": f["filename"], "size": len(f["content"])}

        delay = self._take_matching(self._delays, method, params)
        if delay:
            time.sleep(delay["seconds"])

        with self._cond:
            entry = {"method": method, "params": logged_params, "status": None, "description": None}
            self._call_log.append(entry)
            try:
                if handler is None:
                    raise TelegramAPIError(404, "Not Found")
                fault = self._take_matching(self._faults, method, params)
                if fault:
                    raise TelegramAPIError(fault["code"], fault["description"], copy.deepcopy(fault["parameters"]))
                limited = self._limits is not None and method.lower() in self.rate_limited_methods
                if limited:
                    self._check_limits(params)
                result = handler(params, files)
                if limited:
                    self._record_send(params)
                entry["status"] = 200
                status, payload = 200, {"ok": True, "result": result}
            except TelegramAPIError as exc:
                entry["status"], entry["description"] = exc.code, exc.description
                if exc.code == 429:
                    self.rate_limited_count += 1
                status = exc.code
                payload = {"ok": False, "error_code": exc.code, "description": exc.description}
                if exc.parameters:
                    payload["parameters"] = exc.parameters
            data = json.dumps(payload).encode("utf-8")
            self._cond.notify_all()
        return status, "application/json", data

    def _serve_file(self, rest: str) -> tuple[int, str, bytes]:
        token, _, file_path = rest.partition("/")
        if token != self._token:
            return self._json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        with self._cond:
            file_id = self._file_paths.get(file_path)
            if file_id is None:
                return self._json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            f = self._files[file_id]
            return 200, f["mime_type"], f["content"]

    def _parse_params(self, query: str, headers: Any, body: bytes) -> tuple[dict, dict]:
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        files: dict[str, dict] = {}
        ctype = (headers.get("Content-Type") or "").strip()
        lctype = ctype.lower()
        if body:
            if lctype.startswith("application/json"):
                data = json.loads(body.decode("utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                params = {k: _decode_param(k, v) for k, v in raw.items()}
                params.update(data)
                return params, files
            if lctype.startswith("multipart/form-data"):
                fields, files = _parse_multipart(body, ctype)
                raw.update(fields)
            else:  # application/x-www-form-urlencoded (PTB default) or unspecified
                raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return {k: _decode_param(k, v) for k, v in raw.items()}, files

    def _take_matching(self, entries: list[dict], method: str, params: dict) -> dict | None:
        with self._cond:
            m = method.lower()
            for entry in entries:
                if entry["method"] not in (m, "*"):
                    continue
                if entry["chat_id"] is not None and self._norm_chat_id(params.get("chat_id")) != entry["chat_id"]:
                    continue
                entry["remaining"] -= 1
                if entry["remaining"] <= 0:
                    entries.remove(entry)
                return entry
            return None

    def _check_limits(self, params: dict) -> None:
        limits = self._limits or {}
        scale = self.time_scale
        now = time.monotonic()
        chat_key = self._norm_chat_id(params.get("chat_id"))
        chat = self._chats.get(chat_key) if isinstance(chat_key, int) else None
        waits = []
        pcs = limits.get("per_chat_per_second")
        if pcs:
            interval = scale / pcs
            last = self._last_send_in_chat.get(chat_key)
            if last is not None and now - last < interval:
                waits.append(interval - (now - last))
        pgm = limits.get("per_group_per_minute")
        if pgm and chat is not None and chat["type"] in ("group", "supergroup", "channel"):
            window = 60.0 * scale
            dq = self._group_send_log.setdefault(chat_key, collections.deque())
            while dq and dq[0] <= now - window:
                dq.popleft()
            if len(dq) >= pgm:
                waits.append(dq[0] + window - now)
        gps = limits.get("global_per_second")
        if gps:
            window = 1.0 * scale
            dq = self._global_send_log
            while dq and dq[0] <= now - window:
                dq.popleft()
            if len(dq) >= gps:
                waits.append(dq[0] + window - now)
        if waits:
            wait = max(waits)
            retry_after = max(1, math.ceil(wait / scale - 1e-9))
            raise TelegramAPIError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after, "retry_after_ms": max(1, math.ceil(wait * 1000))},
            )

    def _record_send(self, params: dict) -> None:
        now = time.monotonic()
        chat_key = self._norm_chat_id(params.get("chat_id"))
        self._last_send_in_chat[chat_key] = now
        self._group_send_log.setdefault(chat_key, collections.deque()).append(now)
        self._global_send_log.append(now)

    # ------------------------------------------------------------------ internals: validation

    def _chat_for_send(self, chat_id: Any) -> dict:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        cid = self._norm_chat_id(chat_id)
        chat = self._chats.get(cid) if not isinstance(cid, str) else None
        if chat is None:
            if not isinstance(cid, str) and cid in self._users:
                user = self._users[cid]
                if user["blocked"]:
                    raise _forbidden("bot was blocked by the user")
                raise _forbidden("bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if chat["type"] == "private":
            user = self._users[chat["id"]]
            if user["blocked"]:
                raise _forbidden("bot was blocked by the user")
            if not user["started"]:
                raise _forbidden("bot can't initiate conversation with a user")
        elif not chat["bot_is_member"]:
            kind = {"group": "group chat", "supergroup": "supergroup chat", "channel": "channel chat"}[chat["type"]]
            raise _forbidden(f"bot was kicked from the {kind}")
        return chat

    def _render(self, text: str, parse_mode: Any, entities: Any, what: str = "text") -> tuple[str, list[dict]]:
        if parse_mode in (None, ""):
            if entities:
                if not isinstance(entities, list):
                    raise _bad(f"can't parse {what} entities JSON object")
                return text, _sort_entities([dict(e) for e in entities])
            return text, []
        mode = str(parse_mode)
        parsers = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}
        parser = parsers.get(mode.lower())
        if parser is None:
            raise _bad("unsupported parse_mode")
        try:
            return parser(text)
        except ValueError as exc:
            raise _bad(f"can't parse entities: {exc}") from None

    def _validate_markup(self, markup: Any) -> dict | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
            count = 0
            for row in rows:
                for button in row:
                    count += 1
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad("can't parse inline keyboard button: Text is not specified")
                    if "callback_data" in button:
                        size = len(str(button["callback_data"]).encode("utf-8"))
                        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                            raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button and not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
                        raise _bad("BUTTON_URL_INVALID")
                    actions = {
                        "url",
                        "callback_data",
                        "web_app",
                        "login_url",
                        "switch_inline_query",
                        "switch_inline_query_current_chat",
                        "switch_inline_query_chosen_chat",
                        "copy_text",
                        "callback_game",
                        "pay",
                    }
                    if not actions & button.keys():
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
            if count > 100:
                raise _bad("reply markup is too long")
        return markup

    @staticmethod
    def _inline(markup: Any) -> Any:
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            return markup["inline_keyboard"]
        return None

    def _resolve_reply_and_thread(self, chat: dict, p: dict) -> tuple[int | None, int | None]:
        chat_id = chat["id"]
        thread = p.get("message_thread_id")
        if thread in ("", 0):
            thread = None
        rp = p.get("reply_parameters")
        allow_without = bool(p.get("allow_sending_without_reply", False))
        reply_id = None
        if isinstance(rp, dict):
            reply_id = rp.get("message_id")
            allow_without = bool(rp.get("allow_sending_without_reply", allow_without))
            if rp.get("chat_id") is not None and self._norm_chat_id(rp["chat_id"]) != chat_id:
                if not allow_without:
                    raise _bad("message to be replied not found")
                reply_id = None
        elif p.get("reply_to_message_id") is not None:
            reply_id = p.get("reply_to_message_id")
        if reply_id is not None:
            target = self._messages[chat_id].get(int(reply_id))
            if target is None or target["deleted"]:
                if not allow_without:
                    raise _bad("message to be replied not found")
                reply_id = None
            else:
                reply_id = int(reply_id)
                if thread is None:
                    thread = target["message_thread_id"]
        if thread is not None:
            if not chat.get("is_forum") or int(thread) not in self._topics[chat_id]:
                raise _bad("message thread not found")
            topic = self._topics[chat_id][int(thread)]
            if topic.get("is_closed") and not chat["bot_is_admin"]:
                raise _bad("TOPIC_CLOSED")
            thread = int(thread)
        return reply_id, thread

    def _editable(self, p: dict) -> tuple[dict, dict]:
        if p.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat_for_send(p.get("chat_id"))
        mid = p.get("message_id")
        rec = self._messages[chat["id"]].get(mid) if isinstance(mid, int) else None
        if rec is None or rec["deleted"]:
            raise _bad("message to edit not found")
        if rec["from"]["id"] != self.bot_id or rec["service"]:
            raise _bad("message can't be edited")
        return chat, rec

    @staticmethod
    def _not_modified() -> TelegramAPIError:
        return _bad(
            "message is not modified: specified new message content and reply markup are exactly "
            "the same as a current content and reply markup of the message"
        )

    def _input_file(self, p: dict, files: dict, field: str, kind: str) -> dict:
        """Resolve an InputFile param (upload, attach://, URL, or file_id)."""
        upload = files.get(field)
        value = p.get(field)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise _bad(f"there is no {field} in the request")
        if upload is not None:
            if kind == "photo":
                return {"photo_sizes": self._new_photo(upload["content"])}
            return {"document": self._new_document(upload["content"], upload["filename"], upload["mime_type"])}
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {field} in the request")
        if re.match(r"^https?://", value):
            name = value.rstrip("/").rsplit("/", 1)[-1] or "file"
            content = f"downloaded from {value}".encode()
            if kind == "photo":
                return {"photo_sizes": self._new_photo(content)}
            return {"document": self._new_document(content, name, None)}
        f = self._files.get(value)
        if f is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if f["kind"] != kind:
            raise _bad("type of file mismatch")
        if kind == "photo":
            seq_sizes = [
                {"file_id": fid, "file_unique_id": ff["file_unique_id"], "file_size": len(ff["content"]),
                 "width": ff["width"], "height": ff["height"]}
                for fid, ff in self._files.items()
                if ff["kind"] == "photo" and ff["group"] == f["group"]
            ]
            return {"photo_sizes": seq_sizes}
        return {"document": self._document_api(value)}

    def _send_media(self, p: dict, files: dict, field: str) -> dict:
        chat = self._chat_for_send(p.get("chat_id"))
        caption = p.get("caption")
        plain_caption, caption_entities = None, []
        if caption is not None and caption != "":
            plain_caption, caption_entities = self._render(
                caption, p.get("parse_mode"), p.get("caption_entities"), "caption"
            )
            if _utf16_len(plain_caption) > MAX_CAPTION_LENGTH:
                raise _bad("message caption is too long")
        else:
            caption = None
        markup = self._validate_markup(p.get("reply_markup"))
        reply_id, thread = self._resolve_reply_and_thread(chat, p)
        media = self._input_file(p, files, field, field)
        rec = self._store_message(
            chat,
            sender=self.bot_user,
            caption=caption,
            plain_caption=plain_caption,
            caption_entities=caption_entities,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to=reply_id,
            thread_id=thread,
            photo_sizes=media.get("photo_sizes"),
            document=media.get("document"),
        )
        return self._message_api(rec)

    # ------------------------------------------------------------------ API methods

    def _api_getme(self, p: dict, files: dict) -> dict:
        me = self.bot_user
        me.update(
            {
                "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )
        return me

    def _api_logout(self, p: dict, files: dict) -> bool:
        return True

    def _api_close(self, p: dict, files: dict) -> bool:
        return True

    def _api_getupdates(self, p: dict, files: dict) -> list[dict]:
        if self._webhook["url"]:
            raise TelegramAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get("offset")
        limit = p.get("limit") or 100
        limit = max(1, min(100, int(limit)))
        timeout = max(0.0, float(p.get("timeout") or 0))
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = list(allowed)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # an older long poll gets "terminated by other getUpdates"
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(timeout, self.long_poll_cap)
        while True:
            if generation != self._poll_generation:
                raise TelegramAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            result = self._eligible_updates(limit)
            if result or self._stopping:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _eligible_updates(self, limit: int) -> list[dict]:
        allowed = set(self._allowed_updates)

        def ok(update: dict) -> bool:
            kinds = set(update) - {"update_id"}
            if allowed:
                return bool(kinds & allowed)
            return not kinds <= _NOT_DEFAULT_UPDATE_TYPES

        self._updates = [u for u in self._updates if ok(u)]
        return copy.deepcopy(self._updates[:limit])

    def _api_setwebhook(self, p: dict, files: dict) -> bool:
        url = p.get("url") or ""
        if url:
            parsed = urlsplit(url)
            if self.webhook_require_https and parsed.scheme != "https":
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise _bad("bad webhook: Failed to resolve host: Name or service not known")
            if self.webhook_require_https and parsed.port not in (None, 80, 88, 443, 8443):
                raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        max_connections = int(p.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = list(allowed)
        self._webhook = {
            "url": url,
            "secret_token": secret if url else None,
            "allowed_updates": allowed if url else None,
            "max_connections": max_connections,
        }
        if p.get("ip_address"):
            self._webhook["ip_address"] = p["ip_address"]
        return True

    def _api_deletewebhook(self, p: dict, files: dict) -> bool:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = self._empty_webhook()
        return True

    def _api_getwebhookinfo(self, p: dict, files: dict) -> dict:
        info = {
            "url": self._webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook["url"]:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
            if self._webhook.get("ip_address"):
                info["ip_address"] = self._webhook["ip_address"]
        return info

    def _api_sendmessage(self, p: dict, files: dict) -> dict:
        chat = self._chat_for_send(p.get("chat_id"))
        text = p.get("text")
        if text is None or str(text) == "":
            raise _bad("message text is empty")
        text = str(text)
        plain, entities = self._render(text, p.get("parse_mode"), p.get("entities"))
        if not plain.strip():
            raise _bad("message text is empty")
        if _utf16_len(plain) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        markup = self._validate_markup(p.get("reply_markup"))
        reply_id, thread = self._resolve_reply_and_thread(chat, p)
        rec = self._store_message(
            chat,
            sender=self.bot_user,
            text=text,
            plain_text=plain,
            entities=entities,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to=reply_id,
            thread_id=thread,
            link_preview_options=p.get("link_preview_options"),
        )
        return self._message_api(rec)

    def _api_sendphoto(self, p: dict, files: dict) -> dict:
        return self._send_media(p, files, "photo")

    def _api_senddocument(self, p: dict, files: dict) -> dict:
        return self._send_media(p, files, "document")

    def _api_editmessagetext(self, p: dict, files: dict) -> dict:
        chat, rec = self._editable(p)
        if rec["text"] is None:
            raise _bad("there is no text in the message to edit")
        text = p.get("text")
        if text is None or str(text) == "":
            raise _bad("message text is empty")
        text = str(text)
        plain, entities = self._render(text, p.get("parse_mode"), p.get("entities"))
        if not plain.strip():
            raise _bad("message text is empty")
        if _utf16_len(plain) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        # as on real Telegram, omitting reply_markup removes the inline keyboard
        markup = self._validate_markup(p.get("reply_markup"))
        if (
            plain == rec["plain_text"]
            and entities == rec["entities"]
            and self._inline(markup) == self._inline(rec["reply_markup"])
        ):
            raise self._not_modified()
        self._push_history(rec)
        rec.update(
            text=text,
            plain_text=plain,
            entities=entities,
            parse_mode=p.get("parse_mode"),
            reply_markup=copy.deepcopy(markup),
            edit_date=self._now(),
        )
        if "link_preview_options" in p:
            rec["link_preview_options"] = p["link_preview_options"]
        return self._message_api(rec)

    def _api_editmessagecaption(self, p: dict, files: dict) -> dict:
        chat, rec = self._editable(p)
        if rec["photo"] is None and rec["document"] is None:
            raise _bad("there is no caption in the message to edit")
        caption = p.get("caption")
        plain, entities = (None, [])
        if caption:
            plain, entities = self._render(caption, p.get("parse_mode"), p.get("caption_entities"), "caption")
            if _utf16_len(plain) > MAX_CAPTION_LENGTH:
                raise _bad("message caption is too long")
        else:
            caption = None
        markup = self._validate_markup(p.get("reply_markup"))
        if (
            plain == rec["plain_caption"]
            and entities == rec["caption_entities"]
            and self._inline(markup) == self._inline(rec["reply_markup"])
        ):
            raise self._not_modified()
        self._push_history(rec)
        rec.update(
            caption=caption,
            plain_caption=plain,
            caption_entities=entities,
            parse_mode=p.get("parse_mode"),
            reply_markup=copy.deepcopy(markup),
            edit_date=self._now(),
        )
        return self._message_api(rec)

    def _api_editmessagereplymarkup(self, p: dict, files: dict) -> dict:
        chat, rec = self._editable(p)
        markup = self._validate_markup(p.get("reply_markup"))
        if self._inline(markup) == self._inline(rec["reply_markup"]):
            raise self._not_modified()
        self._push_history(rec)
        rec["reply_markup"] = copy.deepcopy(markup)
        rec["edit_date"] = self._now()
        return self._message_api(rec)

    def _api_deletemessage(self, p: dict, files: dict) -> bool:
        chat = self._chat_for_send(p.get("chat_id"))
        mid = p.get("message_id")
        rec = self._messages[chat["id"]].get(mid) if isinstance(mid, int) else None
        if rec is None or rec["deleted"]:
            raise _bad("message to delete not found")
        own = rec["from"]["id"] == self.bot_id
        if rec["service"] == "forum_topic_created":
            raise _bad("message can't be deleted")
        if not own and chat["type"] != "private" and not chat["bot_is_admin"]:
            raise _bad("message can't be deleted")
        rec["deleted"] = True
        return True

    def _api_answercallbackquery(self, p: dict, files: dict) -> bool:
        cq_id = str(p.get("callback_query_id") or "")
        cb = self._callbacks.get(cq_id)
        if cb is None or cb["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        cb["answered"] = True
        self._answered_callbacks.append(
            {
                "callback_query_id": cq_id,
                "text": text,
                "show_alert": bool(p.get("show_alert", False)),
                "url": p.get("url"),
                "cache_time": p.get("cache_time"),
                "chat_id": cb["chat_id"],
                "message_id": cb["message_id"],
                "data": cb["data"],
            }
        )
        return True

    def _api_getfile(self, p: dict, files: dict) -> dict:
        file_id = p.get("file_id")
        f = self._files.get(file_id) if isinstance(file_id, str) else None
        if f is None:
            raise _bad("invalid file_id")
        if f["file_path"] is None:
            folder = "photos" if f["kind"] == "photo" else "documents"
            ext = "." + f["file_name"].rsplit(".", 1)[1] if "." in f["file_name"] else ""
            f["file_path"] = f"{folder}/file_{len(self._file_paths)}{ext}"
            self._file_paths[f["file_path"]] = file_id
        return {
            "file_id": file_id,
            "file_unique_id": f["file_unique_id"],
            "file_size": len(f["content"]),
            "file_path": f["file_path"],
        }

    def _api_createforumtopic(self, p: dict, files: dict) -> dict:
        chat = self._chat_for_send(p.get("chat_id"))
        if chat["type"] != "supergroup" or not chat["is_forum"]:
            raise _bad("the chat is not a forum")
        if not (chat["bot_is_admin"] and chat["can_manage_topics"]):
            raise _bad("not enough rights to create a topic")
        name = p.get("name")
        if not name or not 1 <= len(str(name)) <= 128:
            raise _bad("TOPIC_NAME_INVALID")
        icon_color = int(p.get("icon_color") or 7322096)
        created = {"name": str(name), "icon_color": icon_color}
        if p.get("icon_custom_emoji_id"):
            created["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        thread_id = self._next_message_id[chat["id"]]
        self._store_message(
            chat,
            sender=self.bot_user,
            thread_id=thread_id,
            service="forum_topic_created",
            forum_topic_created=created,
        )
        topic = {"message_thread_id": thread_id, **created, "is_closed": False}
        self._topics[chat["id"]][thread_id] = topic
        return {"message_thread_id": thread_id, **created}

    def _api_closeforumtopic(self, p: dict, files: dict) -> bool:
        return self._set_topic_closed(p, True)

    def _api_reopenforumtopic(self, p: dict, files: dict) -> bool:
        return self._set_topic_closed(p, False)

    def _set_topic_closed(self, p: dict, closed: bool) -> bool:
        chat = self._chat_for_send(p.get("chat_id"))
        topic = self._topics[chat["id"]].get(p.get("message_thread_id"))
        if topic is None:
            raise _bad("message thread not found")
        if not chat["can_manage_topics"]:
            raise _bad("not enough rights to manage topics")
        if topic["is_closed"] == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = closed
        return True

    def _api_setmycommands(self, p: dict, files: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad("can't parse BotCommand")
            name = str(cmd.get("command", ""))
            desc = str(cmd.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name.lstrip("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name.lstrip("/"), "description": desc})
        self._commands[self._commands_key(p.get("scope"), p.get("language_code"))] = clean
        return True

    def _api_getmycommands(self, p: dict, files: dict) -> list[dict]:
        return copy.deepcopy(self._commands.get(self._commands_key(p.get("scope"), p.get("language_code")), []))

    def _api_deletemycommands(self, p: dict, files: dict) -> bool:
        self._commands.pop(self._commands_key(p.get("scope"), p.get("language_code")), None)
        return True

    def _api_sendchataction(self, p: dict, files: dict) -> bool:
        self._chat_for_send(p.get("chat_id"))
        if not p.get("action"):
            raise _bad("action is empty")
        return True

    def _api_leavechat(self, p: dict, files: dict) -> bool:
        chat = self._chat_for_send(p.get("chat_id"))
        if chat["type"] == "private":
            raise _bad("chat member status can't be changed in private chats")
        chat["bot_is_member"] = chat["bot_is_admin"] = chat["can_manage_topics"] = False
        return True

    def _api_getchat(self, p: dict, files: dict) -> dict:
        cid = self._norm_chat_id(p.get("chat_id"))
        chat = self._chats.get(cid) if not isinstance(cid, str) else None
        if chat is None:
            raise _bad("chat not found")
        if chat["type"] != "private" and not chat["bot_is_member"]:
            self._chat_for_send(cid)  # raises the "kicked" 403
        info = self._chat_api(chat)
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    def _api_getchatmember(self, p: dict, files: dict) -> dict:
        cid = self._norm_chat_id(p.get("chat_id"))
        chat = self._chats.get(cid) if not isinstance(cid, str) else None
        if chat is None:
            raise _bad("chat not found")
        user_id = p.get("user_id")
        if user_id == self.bot_id:
            user = self.bot_user
            if not chat["bot_is_member"]:
                status = "left"
            else:
                status = "administrator" if chat["bot_is_admin"] else "member"
        else:
            if user_id not in self._users:
                raise _bad("user not found")
            if chat["type"] != "private" and not chat["bot_is_member"]:
                self._chat_for_send(cid)
            user = self._user_api(self._users[user_id])
            status = self._members.get((cid, user_id), "member")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            is_bot = user_id == self.bot_id
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                    "can_manage_topics": bool(chat["can_manage_topics"]) if is_bot else True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member


# a tiny valid-looking JPEG (SOI + APP0 + EOI) used as default photo content
_FAKE_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
