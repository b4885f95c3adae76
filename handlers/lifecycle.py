"""The ticket lifecycle: statuses, priorities and which transitions are allowed."""
from __future__ import annotations

STATUSES = ("new", "open", "waiting", "resolved", "closed")
# "new" is where a ticket starts; people move tickets to these:
SETTABLE_STATUSES = ("open", "waiting", "resolved", "closed")
OPEN_STATUSES = ("new", "open", "waiting")
PRIORITIES = ("urgent", "high", "normal", "low")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "waiting", "resolved", "closed"),
    "open": ("waiting", "resolved", "closed"),
    "waiting": ("open", "resolved", "closed"),
    # Going back to open from here is a reopen: the case "rebounds".
    "resolved": ("open", "closed"),
    "closed": ("open",),
}

STATUS_ALIASES = {
    "reopen": "open",
    "reopened": "open",
    "in-progress": "open",
    "in_progress": "open",
    "progress": "open",
    "wait": "waiting",
    "pending": "waiting",
    "resolve": "resolved",
    "solved": "resolved",
    "close": "closed",
    "处理中": "open",
    "重开": "open",
    "等待": "waiting",
    "已解决": "resolved",
    "解决": "resolved",
    "关闭": "closed",
    "已关闭": "closed",
}

PRIORITY_ALIASES = {
    "p1": "urgent",
    "p2": "high",
    "p3": "normal",
    "p4": "low",
    "medium": "normal",
    "紧急": "urgent",
    "高": "high",
    "普通": "normal",
    "中": "normal",
    "低": "low",
}


def normalize_status(value: str) -> str | None:
    """The canonical status for what a person typed, or None if it is not one."""
    v = value.strip().lower()
    v = STATUS_ALIASES.get(v, v)
    return v if v in SETTABLE_STATUSES else None


def normalize_priority(value: str) -> str | None:
    """The canonical priority for what a person typed, or None if it is not one."""
    v = value.strip().lower()
    v = PRIORITY_ALIASES.get(v, v)
    return v if v in PRIORITIES else None


def allowed_from(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def is_reopen(old: str, new: str) -> bool:
    return old in ("resolved", "closed") and new == "open"
