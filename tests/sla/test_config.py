"""[sla] / [digest] → SlaSettings: shapes, first-match overrides, and errors that name the key."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from bot.config import ConfigError, load_config
from bot.sla_config import load_sla
from scheduler.service import build_scheduler
from tests.sla.conftest import SLA
from tests.support import desk_overrides, make_runtime, merge

H = timedelta(hours=1)


def config(**sections):  # type: ignore[no-untyped-def]
    return load_config(env={}, overrides=merge(desk_overrides("sqlite:///:memory:"), {"console": {"enabled": True},
                                                                                     **sections}))


def test_no_sections_means_no_scheduler(sqlite_url, clock):
    assert load_sla(config()) is None
    rt = make_runtime(sqlite_url, clock)
    try:
        assert rt.services == [] and rt.desk.change_hooks == [] and rt.desk.clock_views is None
    finally:
        rt.engine.dispose()


def test_targets_overrides_and_calendars():
    s = load_sla(config(sla={
        "business_hours_only": True,
        "targets": {"normal": {"first_response": "4h", "resolution": "2d"},
                    "urgent": {"first_response": "30m", "resolution": "4h", "business_hours_only": False}},
        "overrides": [{"category": "refund", "priority": "urgent", "resolution": "1h"},
                      {"category": "refund", "resolution": "1d"},
                      {"group": "warehouse", "first_response": "2h", "business_hours_only": False}],
        "calendars": {"default": {"timezone": "Asia/Shanghai", "hours": {"mon": "09:00-18:00"}},
                      "warehouse": {"timezone": "Asia/Shanghai", "hours": {"sat": "10:00-16:00"},
                                    "groups": ["warehouse"], "holidays": ["2026-10-01"]}},
    }))
    assert s is not None and s.enabled
    p = s.policy_for("normal", "Refund", "service")
    assert (p.first_response, p.resolution, p.calendar.tz, p.calendar.always_open) == (4 * H, 24 * H, "Asia/Shanghai", False)
    assert s.policy_for("urgent", "refund", "service").resolution == H  # the first matching override wins
    p = s.policy_for("normal", "refund", "warehouse")
    assert (p.first_response, p.resolution, p.calendar.always_open) == (2 * H, 24 * H, True)  # fields fall through
    assert s.policy_for("urgent", "", "tech").calendar.always_open  # urgent runs around the clock
    assert s.calendar_for("warehouse").holidays and s.calendar_for("tech") is s.calendar_for("")
    assert s.policy_for("low", "", "tech").first_response is None  # no target: no clock
    assert (s.warn_at, s.reescalate_every, s.unclaimed_after, s.auto_close_after, s.sweep_seconds) == (
        0.75, 4 * H, timedelta(minutes=30), 72 * H, 5.0)


def test_digest_recipients():
    s = load_sla(config(digest={"recipients": {
        "chen": {"person": "boss", "at": "08:30"},
        "cs": {"platform": "console", "chat": "after-sales", "timezone": "Asia/Shanghai", "groups": ["service"]},
        "mei": {"person": "xiaomei"}}}))
    assert s is not None and not s.enabled  # digests only: no SLA clocks
    chen, cs, mei = s.digests
    assert (chen.timezone, chen.at, cs.at, cs.groups, mei.timezone) == (
        "UTC", time(8, 30), time(9, 0), ("service",), "Asia/Shanghai")  # a person's own zone by default


@pytest.mark.parametrize("sections, message", [
    ({"sla": {"targets": {"urgent": {"first_response": "4x"}}}},
     "sla.targets.urgent.first_response: '4x' is not a duration — use e.g. 30m, 4h, 2d or 1h30m"),
    ({"sla": {"targets": {"urgent": {"resolution": 30}}}},
     "sla.targets.urgent.resolution: 30 is not a duration — write it as text with a unit, e.g. \"30m\""),
    ({"sla": {"targets": {"critical": {"resolution": "1h"}}}},
     "sla.targets.critical: 'critical' is not a priority — use urgent, high, normal, low"),
    ({"sla": {"targets": {"normal": {"frist_response": "1h"}}}},
     "sla.targets.normal.frist_response: unknown key — check the spelling against docs/sla.md"),
    ({"sla": {"warn_at": 1.5, "targets": SLA["targets"]}},
     "sla.warn_at: 1.5 must be a share between 0 and 1, e.g. 0.75 (75 % of the target), or \"off\""),
    ({"sla": {"reescalate_every": "0m", "targets": SLA["targets"]}},
     "sla.reescalate_every: '0m' must be longer than zero (or \"off\")"),
    ({"sla": {"enabled": True}}, "sla.targets: no target is set — add e.g. [sla.targets.normal]"),
    ({"sla": {"targets": SLA["targets"], "overrides": [{"resolution": "1h"}]}},
     "sla.overrides[0]: an override needs category = \"…\" and/or group = \"…\" to match"),
    ({"sla": {"targets": SLA["targets"], "overrides": [{"group": "couriers", "resolution": "1h"}]}},
     "sla.overrides[0].group: 'couriers' is not a group (groups: service, warehouse, tech)"),
    ({"sla": {"targets": SLA["targets"], "overrides": [{"category": "fruit", "resolution": "1h"}]}},
     "sla.overrides[0].category: 'fruit' is not a category (desk.categories: hardware, software, shipping, refund)"),
    ({"sla": {"targets": SLA["targets"], "business_hours_only": True}},
     "sla.calendars: business_hours_only is on but group 'service' has no calendar — define "
     "[sla.calendars.default] or list 'service' in a calendar's groups"),
    ({"sla": {"targets": SLA["targets"], "calendars": {"default": {"timezone": "Asia/Shanghai", "hours": {"mon": "9-18"}}}}},
     "sla.calendars.default: invalid working hours '9-18' for mon — use HH:MM-HH:MM, e.g. 09:00-18:00"),
    ({"sla": {"targets": SLA["targets"], "calendars": {"default": {"timezone": "Asia/Shangai", "hours": {}}}}},
     "sla.calendars.default.timezone: 'Asia/Shangai' is not a time zone — use an IANA name like Asia/Shanghai or UTC"),
    ({"sla": {"targets": SLA["targets"], "customer_side": ["zhang"]}},
     "sla.customer_side: 'zhang' is not defined under [people]"),
    ({"digest": {"recipients": {"chen": {"person": "boss", "at": "9am"}}}},
     "digest.recipients.chen.at: '9am' is not a time of day — use \"HH:MM\", e.g. \"09:00\""),
    ({"digest": {"recipients": {"chen": {"person": "chen"}}}},
     "digest.recipients.chen.person: 'chen' is not defined under [people]"),
    ({"digest": {"recipients": {"x": {"person": "boss", "platform": "console", "chat": "c"}}}},
     "digest.recipients.x: give either person = \"<people key>\" (a DM) or platform and chat (a post)"),
    ({"digest": {"recipients": {"x": {"platform": "slack", "chat": "C1"}}}},
     "digest.recipients.x.platform: 'slack' is not enabled — set slack.enabled = true"),
])
def test_config_errors_name_the_key_and_the_fix(sections, message):
    with pytest.raises(ConfigError) as err:
        load_sla(config(**sections))
    assert message in str(err.value)


def test_a_broken_section_stops_the_bootstrap_with_the_sentence(sqlite_url, clock):
    with pytest.raises(ValueError, match=r"sla.targets.urgent.first_response: '4x' is not a duration"):
        make_runtime(sqlite_url, clock, sla={"targets": {"urgent": {"first_response": "4x"}}})


def test_disabled_sla_installs_nothing(sqlite_url, clock):
    rt = make_runtime(sqlite_url, clock, sla={"enabled": False, "targets": SLA["targets"]})
    try:
        assert build_scheduler(rt) is None and rt.services == []
    finally:
        rt.engine.dispose()


def test_the_example_in_docs_is_valid():
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sla.md").read_text(encoding="utf-8")
    example = tomllib.loads(re.search(r"```toml\n(.*?)```", doc, re.S).group(1))
    overrides = merge(desk_overrides("sqlite:///:memory:"), {"slack": {"enabled": True}, **example})
    cfg = load_config(env={"AFTERDESK_SLACK_BOT_TOKEN": "xoxb-1", "AFTERDESK_SLACK_SIGNING_SECRET": "s"},
                      overrides=overrides)
    s = load_sla(cfg)
    assert s is not None and s.enabled and len(s.digests) == 2 and len(s.overrides) == 3
    assert s.policy_for("urgent", "refund", "service").resolution == 2 * H
    assert s.calendar_for("warehouse").hours[5]  # Saturday shift
