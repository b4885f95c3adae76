"""Typed configuration from one TOML file plus environment secrets (the only module reading env)."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from handlers.policy import DeskPolicy, GroupSpec, PersonSpec, RoutingRule

PLATFORMS = ("slack", "telegram", "console")
# Secrets may live in the environment instead of the file (preferred in production).
ENV_SECRETS = {
    ("slack", "bot_token"): "AFTERDESK_SLACK_BOT_TOKEN",
    ("slack", "signing_secret"): "AFTERDESK_SLACK_SIGNING_SECRET",
    ("slack", "app_token"): "AFTERDESK_SLACK_APP_TOKEN",
    ("telegram", "bot_token"): "AFTERDESK_TELEGRAM_BOT_TOKEN",
    ("telegram", "webhook_secret"): "AFTERDESK_TELEGRAM_WEBHOOK_SECRET",
}


class ConfigError(Exception):
    """A configuration problem, phrased as a sentence naming the key and the fix."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(value: str) -> str:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' — use an IANA name like Asia/Shanghai") from None
    return value


Zone = Annotated[str, AfterValidator(_zone)]


def _database_url(value: str) -> str:
    try:
        make_url(value).get_dialect().import_dbapi()  # the dialect and its driver must both load
    except Exception as exc:
        raise ValueError(f"cannot use this URL ({type(exc).__name__}) — e.g. sqlite:///afterdesk.db or "
                         "postgresql+psycopg://user@host:5432/db (pip install 'afterdesk[postgres]')") from None
    return value


class DeskConfig(Strict):
    database_url: Annotated[str, AfterValidator(_database_url)] = "sqlite:///afterdesk.db"
    default_group: str = "service"
    first_ticket_number: int = Field(1001, ge=1)
    categories: list[str] = []
    products: list[str] = []
    currency: str = "CNY"
    timezone: Zone = "UTC"
    # Platforms whose every verified user is on the team (a Slack workspace: yes; Telegram: anyone can
    # find a bot, so there only [people] and members of the groups' chats may act).
    open_to: list[Literal["slack", "telegram"]] = ["slack"]
    # Run commands in a process of their own (a second CPU core for festival bursts, ~50 MB more memory);
    # by default they run on a thread of the one process.
    core_process: bool = False


class NotificationsConfig(Strict):
    assignee_dm: bool = True
    reporter_dm: bool = True
    watchers_dm: bool = True


class HttpConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class OutboxConfig(Strict):
    poll_seconds: float = Field(1.0, gt=0)
    max_attempts: int = Field(20, ge=1)
    # Minimum seconds between two messages to one chat (Slack and Telegram allow about 1/s).
    slack_interval: float = Field(1.0, ge=0)
    telegram_interval: float = Field(1.0, ge=0)
    telegram_group_per_minute: int = Field(20, ge=1)
    telegram_global_per_second: int = Field(30, ge=1)


class SlackConfig(Strict):
    enabled: bool = False
    mode: Literal["http", "socket"] = "http"
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_base_url: str = "https://slack.com/api/"
    team_id: str = ""
    reaction_creates_ticket: bool = True
    reaction_name: str = "ticket"


class TelegramConfig(Strict):
    enabled: bool = False
    mode: Literal["polling", "webhook"] = "polling"
    bot_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    webhook_url: str = ""
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    use_topics: bool = True


class ConsoleConfig(Strict):
    enabled: bool = False


class PersonConfig(Strict):
    name: str
    timezone: Zone = ""  # empty: desk.timezone
    slack: str = ""
    telegram: str = ""
    telegram_username: str = ""
    console: str = ""


class GroupConfig(Strict):
    name: str
    members: list[str] = []
    managers: list[str] = []
    default_assignee: str = ""
    channels: dict[Literal["slack", "telegram", "console"], str] = {}


class RoutingConfig(Strict):
    group: str
    category: str = ""
    product: str = ""
    keyword: str = ""

    @model_validator(mode="after")
    def _one_condition(self) -> RoutingConfig:
        if not (self.category or self.product or self.keyword):
            raise ValueError("a routing rule needs category, product or keyword")
        return self


class Config(Strict):
    desk: DeskConfig = DeskConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    http: HttpConfig = HttpConfig()
    outbox: OutboxConfig = OutboxConfig()
    slack: SlackConfig = SlackConfig()
    telegram: TelegramConfig = TelegramConfig()
    console: ConsoleConfig = ConsoleConfig()
    people: dict[str, PersonConfig] = {}
    groups: dict[str, GroupConfig] = {"service": GroupConfig(name="Customer service")}
    routing: list[RoutingConfig] = []
    # Sections added by later features (e.g. [sla], [digest]) are kept raw for their owners.
    sla: dict[str, Any] = {}
    digest: dict[str, Any] = {}

    @field_validator("people", "groups")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not key or any(ch.isspace() for ch in key):
                raise ValueError(f"'{key}' is not a usable key (no spaces)")
        return value

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems: list[str] = []
        if self.desk.default_group not in self.groups:
            problems.append(
                f"desk.default_group: '{self.desk.default_group}' is not a group — define [groups.{self.desk.default_group}]"
                f" or pick one of: {', '.join(self.groups)}"
            )
        for key, group in self.groups.items():
            for field in ("members", "managers"):
                for person in getattr(group, field):
                    if person not in self.people:
                        problems.append(f"groups.{key}.{field}: '{person}' is not defined under [people]")
            if group.default_assignee and group.default_assignee not in self.people:
                problems.append(f"groups.{key}.default_assignee: '{group.default_assignee}' is not defined under [people]")
        for i, rule in enumerate(self.routing):
            if rule.group not in self.groups:
                problems.append(f"routing[{i}].group: '{rule.group}' is not a group (groups: {', '.join(self.groups)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def enabled_platforms(self) -> tuple[str, ...]:
        return tuple(p for p in PLATFORMS if getattr(self, p).enabled)

    def secrets(self) -> list[str]:
        """Every secret value, so log redaction can hide them."""
        values = [self.slack.bot_token, self.slack.signing_secret, self.slack.app_token,
                  self.telegram.bot_token, self.telegram.webhook_secret]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    def policy(self) -> DeskPolicy:
        """The plain-data rules the core works with."""
        people = tuple(
            PersonSpec(
                key=key, name=p.name, timezone=p.timezone or self.desk.timezone,
                identities=tuple(
                    (platform, uid, username)
                    for platform, uid, username in (
                        ("slack", p.slack, ""), ("telegram", p.telegram, p.telegram_username),
                        ("console", p.console, p.console),
                    )
                    if uid
                ),
            )
            for key, p in self.people.items()
        )
        groups = {
            key: GroupSpec(key=key, name=g.name, members=tuple(g.members), managers=tuple(g.managers),
                           channels=dict(g.channels), default_assignee=g.default_assignee)
            for key, g in self.groups.items()
        }
        return DeskPolicy(
            groups=groups, default_group=self.desk.default_group,
            rules=tuple(RoutingRule(r.group, r.category, r.product, r.keyword) for r in self.routing),
            people=people, categories=tuple(self.desk.categories), products=tuple(self.desk.products),
            platforms=self.enabled_platforms(), notify_assignee=self.notifications.assignee_dm,
            notify_reporter=self.notifications.reporter_dm, notify_watchers=self.notifications.watchers_dm,
            first_number=self.desk.first_ticket_number, currency=self.desk.currency,
            customer_side=tuple(str(k) for k in self.sla.get("customer_side", []) or []),
            timezone=self.desk.timezone,
            open_platforms=(*self.desk.open_to, "console"),
        )


def _describe(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key — check the spelling against config.example.toml"
        elif e["type"] == "literal_error":
            msg = msg.replace("Input should be", "must be")
        lines.append(f"{source}: {loc}: {msg}" if loc != "(top level)" else f"{source}: {msg}")
    return "\n".join(lines)


def _inject_env(data: dict[str, Any], env: dict[str, str]) -> None:
    for (section, key), var in ENV_SECRETS.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    if env.get("AFTERDESK_DATABASE_URL"):
        data.setdefault("desk", {})["database_url"] = env["AFTERDESK_DATABASE_URL"]


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Read TOML (if any) + environment secrets; raise ConfigError with a sentence on any problem."""
    env = dict(os.environ) if env is None else env
    path = path or env.get("AFTERDESK_CONFIG")
    data: dict[str, Any] = {}
    source = "config"
    if path:
        p = Path(path)
        source = str(p)
        if not p.exists():
            raise ConfigError(f"{p}: no such file — copy config.example.toml there, or pass --config PATH")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML ({exc}) — fix the syntax at that line") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{p}: not UTF-8 text — save the file as UTF-8") from None
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    _inject_env(data, env)
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None
    check_platforms(config, source)
    return config


def _missing(secret: SecretStr | None) -> bool:
    return secret is None or not secret.get_secret_value().strip()


def check_platforms(config: Config, source: str = "config") -> None:
    """Fail closed: a platform that is on must have what it needs to run safely."""
    problems = []
    s, t = config.slack, config.telegram
    if s.enabled:
        if _missing(s.bot_token):
            problems.append("slack.bot_token is missing — set AFTERDESK_SLACK_BOT_TOKEN (xoxb-…)")
        if s.mode == "http" and _missing(s.signing_secret):
            problems.append("slack.signing_secret is missing: HTTP mode refuses unsigned requests — "
                            "set AFTERDESK_SLACK_SIGNING_SECRET")
        if s.mode == "socket" and _missing(s.app_token):
            problems.append("slack.app_token is missing: Socket Mode needs an app-level token (xapp-…) — "
                            "set AFTERDESK_SLACK_APP_TOKEN")
        if not s.api_base_url.endswith("/"):
            problems.append("slack.api_base_url must end with '/' (e.g. https://slack.com/api/)")
    if t.enabled:
        if _missing(t.bot_token):
            problems.append("telegram.bot_token is missing — set AFTERDESK_TELEGRAM_BOT_TOKEN")
        if t.mode == "webhook" and _missing(t.webhook_secret):
            problems.append("telegram.webhook_secret is missing: webhook mode refuses unauthenticated updates — "
                            "set AFTERDESK_TELEGRAM_WEBHOOK_SECRET")
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
