"""The benchmark harness at toy sizes, so it never rots (no timing assertions: figures vary by machine)."""
from __future__ import annotations

import json

import pytest

import bench
from bench import dataset
from bench.common import TINY, Report
from bench.footprint import write_config
from bot.config import load_config


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AFTERDESK_BENCH_CACHE", str(tmp_path / "cache"))


def test_every_benchmark_runs_at_tiny_size(tmp_path, capsys):
    # --tiny skips django-helpdesk (it needs PyPI); everything else runs for real, end to end.
    code = bench.main(["--tiny", "--results", str(tmp_path / "results"), "--log", str(tmp_path / "bench.log")])
    out = capsys.readouterr().out
    files = list((tmp_path / "results").glob("*-tiny.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["errors"] == {}, data["errors"]
    assert code == 0
    benches = {row["bench"] for row in data["rows"]}
    assert benches == {"ingest", "sla sweep", "digest", "delivery", "footprint"}
    assert data["machine"]["cores"] and data["machine"]["packages"]["SQLAlchemy"] != "-"
    ingest = data["details"]["ingest"]
    assert ingest["afterdesk"]["created"] > 0 and ingest["afterdesk"]["errors"] == {}
    assert ingest["afterdesk"]["processes"] == 1
    assert ingest["core_process"]["created"] > 0 and ingest["core_process"]["errors"] == {}
    assert ingest["core_process"]["processes"] == 2
    hollow = ingest["hollow"]  # the adapter's own ceiling: everything answered, no ticket written
    assert hollow["created"] > 0 and hollow["written"] == 0 and hollow["errors"] == {}
    assert ingest["under_load"]["background"]["sweeps"] >= 1
    for platform in ("slack", "telegram"):
        result = data["details"]["delivery"][platform]
        assert result["lost"] == 0 and result["duplicated"] == 0
    assert "benchmark" in out and "ingest" in out


def test_generated_data_matches_what_the_sweep_expects(tmp_path):
    ds = dataset.dataset(1_000, log=lambda _: None)
    assert ds.open_tickets == 100 and ds.due == 100
    again = dataset.dataset(1_000, log=lambda _: None)
    assert again.seconds_to_build is None and again.path == ds.path  # cached


def test_the_footprint_config_is_a_valid_afterdesk_config(tmp_path):
    path = tmp_path / "afterdesk.toml"
    write_config(path, f"sqlite:///{tmp_path / 'x.db'}")
    config = load_config(path, env={})
    assert config.console.enabled and config.sla and "chen" in config.digest["recipients"]


def test_tiny_sizes_skip_the_peer():
    assert Report(TINY).sizes.peer is False
