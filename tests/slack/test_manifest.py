"""The app manifest matches the code (command, shortcut, path) and every scope it asks for is justified."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.slack import adapter, commands

ROOT = Path(__file__).resolve().parents[2]


def parse_yaml_subset(text: str) -> Any:
    """Enough YAML for the manifest: nested mappings, lists of scalars or mappings, folded `>-` scalars."""
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines()
             if raw.strip() and not raw.strip().startswith("#")]

    def scalar(value: str) -> Any:
        value = value.strip()
        if value in ("true", "false"):
            return value == "true"
        return value[1:-1] if value[:1] == value[-1:] == '"' and len(value) > 1 else value

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items: list[Any] = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                rest = lines[i][1][2:]
                if re.match(r"[\w-]+:(\s|$)", rest):
                    lines[i] = (indent + 2, rest)  # "- key: v" opens a mapping at the item's indent
                    value, i = block(i, indent + 2)
                else:
                    value, i = scalar(rest), i + 1
                items.append(value)
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
            key, _, rest = lines[i][1].partition(":")
            i += 1
            if rest.strip() == ">-":
                parts = []
                while i < len(lines) and lines[i][0] > indent:
                    parts.append(lines[i][1])
                    i += 1
                mapping[key] = " ".join(parts)
            elif rest.strip():
                mapping[key] = scalar(rest)
            else:
                mapping[key], i = block(i, lines[i][0])
        return mapping, i

    return block(0, 0)[0]


def manifest() -> dict[str, Any]:
    return parse_yaml_subset((ROOT / "slack_manifest.yml").read_text(encoding="utf-8"))


def test_manifest_matches_the_code() -> None:
    m = manifest()
    [command] = m["features"]["slash_commands"]
    assert command["command"] == commands.COMMAND and command["should_escape"] is True
    [shortcut] = m["features"]["shortcuts"]
    assert shortcut["type"] == "message" and shortcut["callback_id"] == commands.SHORTCUT
    urls = [command["url"], m["settings"]["event_subscriptions"]["request_url"],
            m["settings"]["interactivity"]["request_url"]]
    assert all(u.endswith(adapter.EVENTS_PATH) for u in urls)
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is False
    assert set(m["settings"]["event_subscriptions"]["bot_events"]) == {"message.channels", "message.groups",
                                                                       "reaction_added"}


def test_every_scope_is_needed_and_explained_in_the_docs() -> None:
    scopes = manifest()["oauth_config"]["scopes"]["bot"]
    assert scopes == sorted(scopes) and len(set(scopes)) == len(scopes)
    assert set(scopes) == {"channels:history", "chat:write", "commands", "files:read", "groups:history",
                           "im:write", "reactions:read", "users:read"}
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([a-z:.]+)` \|", docs, flags=re.MULTILINE))
    assert set(scopes) <= table
    assert "user" not in manifest()["oauth_config"]["scopes"]  # no user-token scopes
