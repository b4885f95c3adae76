"""The [sla] and [digest] config sections → SlaSettings, with sentences that name the key and the fix.

The scheduler builds these from `runtime.config` (the layer guard keeps it from importing bot/), so the
schema lives here; bot.sla_config raises the same problems as a ConfigError."""
from __future__ import annotations

from datetime import date, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from handlers.lifecycle import PRIORITIES
from handlers.sla.business_time import BusinessCalendar
from handlers.sla.durations import parse_duration
from handlers.sla.policy import DigestRecipient, Override, SlaSettings, Targets

# The desk's typed config (bot.config.Config): only its plain attributes are read here.
Config = Any


class SlaConfigError(ValueError):
    """One or more problems in [sla] / [digest], one sentence per line, each naming its key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

_OFF = ("off", "none", "never", "no")


def _duration(value: Any) -> timedelta | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration — write it as text with a unit, e.g. \"{value}m\", "
                         f"\"4h\", \"2d\" (or \"off\")")
    delta = parse_duration(value)
    if delta <= timedelta(0):
        raise ValueError(f"'{value}' must be longer than zero (or \"off\")")
    return delta


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone — use an IANA name like Asia/Shanghai or UTC") from None
    return value


Duration = Annotated[timedelta | None, BeforeValidator(_duration)]


class TargetConfig(Strict):
    first_response: Duration = None
    resolution: Duration = None
    business_hours_only: bool | None = None


class OverrideConfig(TargetConfig):
    category: str = ""
    group: str = ""
    priority: str = ""


class CalendarConfig(Strict):
    timezone: str
    hours: dict[str, str | list[str]]
    holidays: list[date | str] = []
    groups: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value)


class SlaConfig(Strict):
    enabled: bool = True
    business_hours_only: bool = False
    warn_at: float | str = 0.75
    reescalate_every: Duration = timedelta(hours=4)
    unclaimed_after: Duration = timedelta(minutes=30)
    auto_close_after: Duration = timedelta(days=3)
    sweep_seconds: float = Field(5.0, gt=0, le=3600)
    customer_side: list[str] = []
    reporter_is_customer: bool = False
    targets: dict[str, TargetConfig] = {}
    overrides: list[OverrideConfig] = []
    calendars: dict[str, CalendarConfig] = {}

    @field_validator("warn_at", mode="before")
    @classmethod
    def _warn_at(cls, value: Any) -> float | str:
        if isinstance(value, str) and value.strip().lower() in _OFF:
            return "off"
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                value = float(value.strip()[:-1]) / 100
            except ValueError:
                raise ValueError(f"'{value}' is not a share — use e.g. 0.75 or \"75%\"") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"{value!r} must be a share between 0 and 1, e.g. 0.75 (75 % of the target), or \"off\"")
        return float(value)


class RecipientConfig(Strict):
    person: str = ""
    platform: Literal["", "slack", "telegram", "console"] = ""
    chat: str = ""
    timezone: str = ""
    at: time | str = time(9, 0)
    groups: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value) if value else value

    @field_validator("at")
    @classmethod
    def _at(cls, value: time | str) -> time:
        if isinstance(value, time):
            return value
        try:
            hour, minute = (int(p) for p in value.strip().split(":"))
            return time(hour, minute)
        except ValueError:
            raise ValueError(f"'{value}' is not a time of day — use \"HH:MM\", e.g. \"09:00\"") from None


class DigestConfig(Strict):
    enabled: bool = True
    check_seconds: float = Field(30.0, gt=0, le=3600)
    top: int = Field(3, ge=1, le=20)
    oldest: int = Field(5, ge=1, le=50)
    recipients: dict[str, RecipientConfig] = {}


def _errors(err: ValidationError, section: str) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in (section, *e["loc"]))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key — check the spelling against docs/sla.md"
        elif e["type"] == "missing":
            msg = "is required"
        elif e["type"] == "literal_error":
            msg = msg.replace("Input should be", "must be")
        lines.append(f"{loc}: {msg}")
    return lines


def load_sla(config: Config) -> SlaSettings | None:
    """SlaSettings from the raw sections, or None when neither SLA nor digests are configured."""
    problems: list[str] = []
    sla = digest = None
    try:
        sla = SlaConfig.model_validate(config.sla)
    except ValidationError as err:
        problems += _errors(err, "sla")
    try:
        digest = DigestConfig.model_validate(config.digest)
    except ValidationError as err:
        problems += _errors(err, "digest")
    if problems:
        raise SlaConfigError("\n".join(problems))
    assert sla is not None and digest is not None
    sla_on = bool(config.sla) and sla.enabled
    digest_on = digest.enabled and bool(digest.recipients)
    if not sla_on and not digest_on:
        return None
    settings = _settings(config, sla, digest, sla_on, problems)
    if problems:
        raise SlaConfigError("\n".join(problems))
    return settings


def _settings(config: Config, sla: SlaConfig, digest: DigestConfig, sla_on: bool, problems: list[str]) -> SlaSettings:
    groups, people, categories = config.groups, config.people, config.desk.categories
    targets: dict[str, Targets] = {}
    for priority, t in sla.targets.items():
        if priority not in PRIORITIES:
            problems.append(f"sla.targets.{priority}: '{priority}' is not a priority — use {', '.join(PRIORITIES)}")
        targets[priority] = Targets(t.first_response, t.resolution, t.business_hours_only)
    if sla_on and not any(t.first_response or t.resolution for t in targets.values()):
        problems.append("sla.targets: no target is set — add e.g. [sla.targets.normal] first_response = \"4h\"")
    overrides = []
    for i, o in enumerate(sla.overrides):
        where = f"sla.overrides[{i}]"
        if not (o.category or o.group):
            problems.append(f"{where}: an override needs category = \"…\" and/or group = \"…\" to match")
        if o.group and o.group not in groups:
            problems.append(f"{where}.group: '{o.group}' is not a group (groups: {', '.join(groups)})")
        if o.category and categories and o.category.lower() not in (c.lower() for c in categories):
            problems.append(f"{where}.category: '{o.category}' is not a category (desk.categories: {', '.join(categories)})")
        if o.priority and o.priority not in PRIORITIES:
            problems.append(f"{where}.priority: '{o.priority}' is not a priority — use {', '.join(PRIORITIES)}")
        sets = frozenset(o.model_fields_set & {"first_response", "resolution", "business_hours_only"})
        if not sets:
            problems.append(f"{where}: set first_response, resolution or business_hours_only")
        overrides.append(Override(Targets(o.first_response, o.resolution, o.business_hours_only),
                                  category=o.category, group=o.group, priority=o.priority, sets=sets))
    calendars = _calendars(sla, groups, problems)
    for key in sla.customer_side:
        if key not in people:
            problems.append(f"sla.customer_side: '{key}' is not defined under [people]")
    return SlaSettings(
        enabled=sla_on, targets=targets, overrides=tuple(overrides), calendars=calendars,
        business_hours_only=sla.business_hours_only, warn_at=None if sla.warn_at == "off" else float(sla.warn_at),
        reescalate_every=sla.reescalate_every, unclaimed_after=sla.unclaimed_after,
        auto_close_after=sla.auto_close_after, sweep_seconds=sla.sweep_seconds,
        digest_check_seconds=digest.check_seconds, customer_side=tuple(sla.customer_side),
        reporter_is_customer=sla.reporter_is_customer,
        display_timezone=config.desk.timezone, digests=_recipients(config, digest, problems),
        digest_top=digest.top, digest_oldest=digest.oldest,
    )


def _calendars(sla: SlaConfig, groups: dict[str, Any], problems: list[str]) -> dict[str, BusinessCalendar]:
    calendars: dict[str, BusinessCalendar] = {}
    for name, c in sla.calendars.items():
        try:
            cal = BusinessCalendar.from_config(c.timezone, c.hours, c.holidays)
        except ValueError as exc:
            problems.append(f"sla.calendars.{name}: {exc}")
            continue
        if name == "default":
            calendars[""] = cal
        for group in c.groups:
            if group not in groups:
                problems.append(f"sla.calendars.{name}.groups: '{group}' is not a group (groups: {', '.join(groups)})")
            elif group in calendars:
                problems.append(f"sla.calendars.{name}.groups: group '{group}' already has a calendar")
            else:
                calendars[group] = cal
    business = sla.business_hours_only or any(t.business_hours_only for t in (*sla.targets.values(), *sla.overrides))
    if business and "" not in calendars:
        for group in groups:
            if group not in calendars:
                problems.append(f"sla.calendars: business_hours_only is on but group '{group}' has no calendar — "
                                f"define [sla.calendars.default] or list '{group}' in a calendar's groups")
    return calendars


def _recipients(config: Config, digest: DigestConfig, problems: list[str]) -> tuple[DigestRecipient, ...]:
    out = []
    for key, r in digest.recipients.items():
        where = f"digest.recipients.{key}"
        if bool(r.person) == bool(r.platform and r.chat):
            problems.append(f"{where}: give either person = \"<people key>\" (a DM) or platform and chat (a post)")
            continue
        if r.person and r.person not in config.people:
            problems.append(f"{where}.person: '{r.person}' is not defined under [people]")
            continue
        if r.platform and r.platform not in config.enabled_platforms():
            problems.append(f"{where}.platform: '{r.platform}' is not enabled — set {r.platform}.enabled = true")
        for group in r.groups:
            if group not in config.groups:
                problems.append(f"{where}.groups: '{group}' is not a group (groups: {', '.join(config.groups)})")
        tz = r.timezone or (config.people[r.person].timezone if r.person else "") or config.desk.timezone
        out.append(DigestRecipient(key=key, timezone=tz, at=r.at,  # type: ignore[arg-type]
                                   person=r.person, platform=r.platform, chat=r.chat, groups=tuple(r.groups)))
    return tuple(out)
