"""`/ticket remind N <when> [text]`, `remind N off`, `reminders [N]` and `/ticket ack N`, added to the shared
grammar at import."""
from __future__ import annotations

from typing import Any

from handlers import grammar
from handlers.commands import Actor
from handlers.grammar import Token
from handlers.replies import UsageError
from handlers.sla.commands import Acknowledge, CancelFollowUps, ListFollowUps, Remind
from handlers.sla.when import normalize, parse_when


OFF = ("off", "cancel", "stop", "取消")


def parse_remind(raw: str, tokens: list[Token], actor: Actor, env: dict[str, Any]) -> Remind | CancelFollowUps:
    number = grammar._number(tokens, "remind", " 7d")
    if len(tokens) < 3:
        raise UsageError("sla_err_remind_usage")
    if len(tokens) == 3 and tokens[2].value.lower() in OFF:
        return CancelFollowUps(actor, number=number, **env)
    when, used = parse_when([t.value for t in tokens[2:]])
    note = grammar._rest(raw, tokens, 2 + used)
    return Remind(actor, number=number, when=normalize(when), note=note, **env)


def parse_reminders(raw: str, tokens: list[Token], actor: Actor, env: dict[str, Any]) -> ListFollowUps:
    number = grammar._number(tokens, "reminders") if len(tokens) > 1 else 0
    return ListFollowUps(actor, number=number, **env)


def parse_ack(raw: str, tokens: list[Token], actor: Actor, env: dict[str, Any]) -> Acknowledge:
    return Acknowledge(actor, number=grammar._number(tokens, "ack"), **env)


def register() -> None:
    """Add the SLA verbs (idempotent)."""
    for verb in ("remind", "followup", "提醒"):
        grammar.VERBS[verb] = parse_remind
    for verb in ("reminders", "followups", "提醒列表"):
        grammar.VERBS[verb] = parse_reminders
    for verb in ("ack", "acknowledge", "确认"):
        grammar.VERBS[verb] = parse_ack


register()
