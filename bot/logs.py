"""Logging that never shows a secret: tokens are masked wherever they appear in a record."""
from __future__ import annotations

import logging
import re

# A Telegram token sits in every Bot API URL; Slack tokens have known prefixes.
TOKEN_PATTERNS = [
    re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}"),
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
]


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = sorted({s for s in (secrets or []) if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub("***", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later from exc_info; render and clean them now.
            clean = clean + "\n" + self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def setup_logging(secrets: list[str], level: int = logging.INFO) -> RedactSecrets:
    """Root logging with redaction on every handler; chatty HTTP client logs turned down."""
    redactor = RedactSecrets(secrets)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(redactor)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor
