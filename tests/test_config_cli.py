"""Configuration and the CLI: precise sentences, no tracebacks, no secrets anywhere."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.logs import RedactSecrets

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_is_valid_and_documents_every_section(capsys):
    assert main(["--config", str(ROOT / "config.example.toml"), "check-config"]) == 0
    assert capsys.readouterr().out.startswith("Configuration OK.")
    text = (ROOT / "config.example.toml").read_text()
    for section in ("[desk]", "[notifications]", "[http]", "[outbox]", "[slack]", "[telegram]", "[console]",
                    "[people.", "[groups.", "[[routing]]"):
        assert section in text, section


@pytest.mark.parametrize("toml, expected", [
    ('[desk]\ndefault_group = "nobody"\n', "desk.default_group: 'nobody' is not a group"),
    ('[slack]\nenabled = true\nmode = "htp"\n', "slack.mode: must be 'http' or 'socket'"),
    ('[desk]\ndatabse_url = "x"\n', "desk.databse_url: unknown key"),
    ('[groups.wh]\nname = "WH"\nmembers = ["ghost"]\n', "groups.wh.members: 'ghost' is not defined under [people]"),
    ('[[routing]]\ngroup = "service"\n', "routing.0: a routing rule needs category, product or keyword"),
    ('[desk\n', "not valid TOML"),
    ('[desk]\ntimezone = "Asia/Shangai"\n', "desk.timezone: unknown time zone 'Asia/Shangai'"),
    ('[desk]\ndatabase_url = "nosuchdb://x"\n', "desk.database_url: cannot use this URL"),
    ('[slack]\nenabled = true\nbot_token = "xoxb-1"\nsigning_secret = ""\n', "slack.signing_secret is missing"),
    ('[telegram]\nenabled = true\nmode = "webhook"\nbot_token = "1:x"\n', "telegram.webhook_secret is missing"),
])
def test_bad_config_gives_a_sentence_naming_the_key(tmp_path, capsys, toml, expected):
    path = tmp_path / "config.toml"
    path.write_text(toml)
    assert main(["--config", str(path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_missing_file_and_slack_without_signing_secret(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml"), "check-config"]) == 2
    assert "no such file — copy config.example.toml there" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="HTTP mode refuses unsigned requests"):
        load_config(env={"AFTERDESK_SLACK_BOT_TOKEN": "xoxb-1-abc"}, overrides={"slack": {"enabled": True}})


def test_secrets_come_from_the_environment_and_never_print(tmp_path):
    token = "xoxb-111-222-supersecretvalue"
    config = load_config(env={"AFTERDESK_SLACK_BOT_TOKEN": token, "AFTERDESK_SLACK_SIGNING_SECRET": "s3cr3t-sign"},
                         overrides={"slack": {"enabled": True}})
    assert config.slack.bot_token.get_secret_value() == token
    assert token not in repr(config) and "s3cr3t-sign" not in str(config.model_dump())


def test_log_redaction_masks_tokens_in_messages_urls_and_tracebacks():
    redact = RedactSecrets(["s3cr3t-sign"])
    logger = logging.getLogger("afterdesk.test.redact")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(redact)
    logger.addHandler(handler)
    try:
        logger.warning("POST https://api.telegram.org/bot123456789:AAH-abcdefghijklmnopqrstuvwxyz12/getUpdates")
        logger.warning("token %s and %s", "xoxb-1-2-abc", "s3cr3t-sign")
        try:
            raise RuntimeError("failed with xapp-1-A0-secret")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(r.getMessage() for r in records)
    assert "AAH-abcdef" not in text and "xoxb-1-2-abc" not in text and "s3cr3t-sign" not in text
    assert "xapp-1-A0-secret" not in text and "RuntimeError: failed with ***" in text


def test_db_upgrade_and_run_without_platform(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[desk]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n')
    env = {"PATH": "", "AFTERDESK_CONFIG": str(cfg)}
    up = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], capture_output=True, text=True,
                        env=env, cwd=ROOT)
    assert up.returncode == 0 and "latest schema" in up.stdout
    run = subprocess.run([sys.executable, "-m", "bot.cli", "run"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 2 and "no platform is enabled" in run.stderr and "Traceback" not in run.stderr
