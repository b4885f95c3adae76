"""The one `/ticket …` grammar every platform shares: text in, command (or a precise error) out."""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers import commands as c
from handlers.lifecycle import PRIORITIES, SETTABLE_STATUSES, normalize_priority, normalize_status
from handlers.replies import UsageError

# What people type → ticket attribute. Chinese keys are what a Chinese shop team types.
CREATE_KEYS: dict[str, str] = {
    "order": "order_no", "order_no": "order_no", "订单": "order_no", "订单号": "order_no",
    "customer": "customer_name", "客户": "customer_name", "姓名": "customer_name",
    "handle": "customer_handle", "nick": "customer_handle", "旺旺": "customer_handle", "昵称": "customer_handle",
    "address": "shipping_address", "addr": "shipping_address", "地址": "shipping_address",
    "收货地址": "shipping_address",
    "category": "category", "cat": "category", "分类": "category", "类别": "category", "问题": "category",
    "product": "product", "产品": "product", "商品": "product",
    "priority": "priority", "prio": "priority", "优先级": "priority",
    "group": "group", "组": "group",
    "tag": "tags", "标签": "tags",
    "desc": "description", "description": "description", "描述": "description",
}
# Fields `/ticket set N key:value` may change after creation.
SET_KEYS: dict[str, str] = {
    **{k: v for k, v in CREATE_KEYS.items() if v not in ("priority", "group", "tags")},
    "title": "title", "标题": "title",
    "tracking": "replacement_tracking", "replacement": "replacement_tracking", "补发": "replacement_tracking",
    "快递": "replacement_tracking",
    "return": "return_tracking", "退回": "return_tracking", "退货": "return_tracking",
    "rma": "rma", "返厂": "rma",
    "compensation": "compensation", "赔偿": "compensation", "补偿": "compensation",
}
FIELD_EXAMPLES = {"order": "12345", "customer": '"Li Lei"', "priority": "high"}

_QUOTES = str.maketrans({"：": ":", "“": '"', "”": '"', "＂": '"', "\u3000": " ", "＠": "@", "＃": "#"})
_NUMBER = re.compile(r"#?(\d{1,9})")


@dataclass(frozen=True)
class Token:
    value: str
    start: int
    end: int


def normalize(text: str) -> str:
    """Full-width colon, quotes and spaces → ASCII, so Chinese input parses the same."""
    return text.translate(_QUOTES).strip()


def tokenize(text: str) -> list[Token]:
    """Split on spaces; "double quotes" group words (apostrophes are just letters)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start, buf = i, []
        while i < n and not text[i].isspace():
            if text[i] == '"':
                close = text.find('"', i + 1)
                if close < 0:
                    raise UsageError("err_quote", detail=text[i : i + 20])
                buf.append(text[i + 1 : close])
                i = close + 1
            else:
                buf.append(text[i])
                i += 1
        tokens.append(Token("".join(buf), start, i))
    return tokens


def parse(text: str, actor: c.Actor, source: c.ChatRef | None = None, dedup_keys: tuple[str, ...] = ()) -> c.Command:
    """Parse what follows `/ticket`; raises UsageError with a specific, helpful message."""
    raw = normalize(text)
    tokens = tokenize(raw)
    env: dict[str, Any] = {"source": source, "dedup_keys": dedup_keys}
    if not tokens:
        raise UsageError("err_no_summary")
    # Verbs are matched as typed in lower case, so "New PC blue-screens" stays a title.
    verb = tokens[0].value
    parser = VERBS.get(verb) or (VERBS.get(verb.lower()) if verb.lower() != "new" else None)
    if parser is None:
        return _parse_create(raw, tokens, actor, env)
    return parser(raw, tokens, actor, env)


def _number(tokens: list[Token], verb: str, after: str = "") -> int:
    if len(tokens) < 2:
        raise UsageError("err_need_number", verb=verb, after=after)
    m = _NUMBER.fullmatch(tokens[1].value)
    if not m:
        raise UsageError("err_bad_number", value=tokens[1].value, verb=verb)
    return int(m.group(1))


def _rest(raw: str, tokens: list[Token], index: int) -> str:
    return raw[tokens[index].start :].strip() if len(tokens) > index else ""


def _field(token: str) -> tuple[str, str] | None:
    """('key', 'value') for key:value tokens (not URLs, not times like 10:30)."""
    if ":" not in token or token.startswith(("http:", "https:")):
        return None
    key, value = token.split(":", 1)
    if not key or key[0].isdigit() or value.startswith("//"):
        return None
    return key.lower(), value.strip()


def _is_field(key: str, allowed: dict[str, str]) -> bool:
    """Known key: True. A typo of one ('ordr'): refused. Anything else ('BSOD code:0x7E'): text."""
    if key in allowed:
        return True
    close = difflib.get_close_matches(key, [k for k in allowed if k.isascii()], n=1, cutoff=0.75)
    if close:
        raise UsageError("err_unknown_field", field=key, suggestion=close[0], fields=_field_list(allowed))
    return False


def _field_list(allowed: dict[str, str]) -> str:
    seen: dict[str, str] = {}
    for key, attr in allowed.items():
        if key.isascii():
            seen.setdefault(attr, key)
    return ", ".join(seen.values())


def _parse_create(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    if tokens[0].value == "new":
        tokens = tokens[1:]
    values: dict[str, Any] = {}
    words: list[str] = []
    tags: list[str] = []
    for tok in tokens:
        value = tok.value
        if value.startswith("@") and len(value) > 1:
            if "assignee" in values:
                raise UsageError("err_two_assignees", first=values["assignee"], second=value)
            values["assignee"] = value
            continue
        kv = _field(value)
        if kv and _is_field(kv[0], CREATE_KEYS):
            key, val = kv
            attr = CREATE_KEYS[key]
            if not val:
                raise UsageError("err_empty_field", field=key, example=FIELD_EXAMPLES.get(key, "…"))
            if attr == "tags":
                tags.append(val)
                continue
            if attr in values:
                raise UsageError("err_duplicate_field", field=key)
            values[attr] = val
            continue
        words.append(raw[tok.start : tok.end])
    title = " ".join(words).strip()
    if not title:
        raise UsageError("err_no_summary")
    if "priority" in values:
        p = normalize_priority(values["priority"])
        if p is None:
            raise UsageError("err_unknown_priority", value=values["priority"], allowed=", ".join(PRIORITIES))
        values["priority"] = p
    return c.CreateTicket(actor, title=title, tags=tuple(tags), **values, **env)


def _simple(cls: type[c.Command]) -> Callable[..., c.Command]:
    def parse_it(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
        verb = tokens[0].value.lower()
        return cls(actor, number=_number(tokens, verb), **env)  # type: ignore[call-arg]

    return parse_it


def _show(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    return c.ShowTicket(actor, number=_number(tokens, "show"), **env)


def _assign(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    number = _number(tokens, "assign", " @user")
    if len(tokens) < 3:
        raise UsageError("err_need_text", verb="assign", what="someone to assign", example="@li_wh")
    return c.Assign(actor, number=number, assignee=tokens[2].value, **env)


def _status(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    number = _number(tokens, "status", " resolved")
    if len(tokens) < 3:
        raise UsageError("err_need_text", verb="status", what="a status", example="waiting")
    status = normalize_status(tokens[2].value)
    if status is None:
        raise UsageError("err_unknown_status", value=tokens[2].value, allowed=", ".join(SETTABLE_STATUSES))
    return c.ChangeStatus(actor, number=number, status=status, note=_rest(raw, tokens, 3), **env)


def _priority(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    number = _number(tokens, "priority", " high")
    if len(tokens) < 3:
        raise UsageError("err_need_text", verb="priority", what="a priority", example="high")
    p = normalize_priority(tokens[2].value)
    if p is None:
        raise UsageError("err_unknown_priority", value=tokens[2].value, allowed=", ".join(PRIORITIES))
    return c.ChangePriority(actor, number=number, priority=p, **env)


def _comment(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    number = _number(tokens, "comment", " Parcel picked up")
    body = _rest(raw, tokens, 2)
    if not body:
        raise UsageError("err_need_text", verb="comment", what="some text", example="Parcel picked up")
    return c.AddComment(actor, number=number, body=body, **env)


def _set(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    number = _number(tokens, "set", " tracking:SF1234567890")
    fields: list[tuple[str, str]] = []
    for tok in tokens[2:]:
        kv = _field(tok.value)
        if kv is None:
            raise UsageError("err_settable", field=tok.value, fields=_field_list(SET_KEYS))
        key, val = kv
        if not _is_field(key, SET_KEYS):
            raise UsageError("err_settable", field=key, fields=_field_list(SET_KEYS))
        fields.append((SET_KEYS[key], val))
    if not fields:
        raise UsageError("err_need_text", verb="set", what="a field", example="tracking:SF1234567890")
    return c.SetFields(actor, number=number, fields=tuple(fields), **env)


def _search(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    query = _rest(raw, tokens, 1).strip('"')
    if not query:
        raise UsageError("err_search_empty")
    return c.Search(actor, query=query, **env)


def _mine(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    return c.Mine(actor, **env)


def _help(raw: str, tokens: list[Token], actor: c.Actor, env: dict[str, Any]) -> c.Command:
    return c.Help(actor, **env)


VERBS: dict[str, Callable[[str, list[Token], c.Actor, dict[str, Any]], c.Command]] = {
    "show": _show,
    "assign": _assign,
    "claim": _simple(c.Claim),
    "status": _status,
    "priority": _priority,
    "comment": _comment,
    "watch": _simple(c.Watch),
    "unwatch": _simple(c.Unwatch),
    "set": _set,
    "search": _search,
    "find": _search,
    "mine": _mine,
    "help": _help,
    "new": lambda raw, tokens, actor, env: _parse_create(raw, tokens, actor, env),
}
