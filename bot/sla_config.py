"""The [sla] and [digest] sections for the bot: the schema lives in scheduler.settings (the scheduler
builds its settings from `runtime.config` and may not import bot/); here its problems become ConfigErrors."""
from __future__ import annotations

from bot.config import Config, ConfigError
from handlers.sla.policy import SlaSettings
from scheduler.settings import SlaConfigError, load_sla as _load_sla


def load_sla(config: Config) -> SlaSettings | None:
    """SlaSettings, None when neither SLA nor digests are configured; ConfigError naming the key on a problem."""
    try:
        return _load_sla(config)
    except SlaConfigError as err:
        raise ConfigError(str(err)) from None
