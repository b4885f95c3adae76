"""`python -m bench.report bench/results/<file>.json`: the results as a Markdown table (for the README)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.common import fmt


def markdown(data: dict[str, Any]) -> str:
    lines = ["| benchmark | figure | Afterdesk | baseline | baseline value | ratio | target | met |",
             "|---|---|---:|---|---:|---:|---|---|"]
    for r in data["rows"]:
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        base = fmt(r["baseline_value"], r["unit"]) if r["baseline"] else ""
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else ""
        lines.append(f"| {r['bench']} | {r['metric']} | {fmt(r['value'], r['unit'])} | {r['baseline']} | {base} | "
                     f"{ratio} | {r['target']} | {met} |")
    seconds = data.get("details", {}).get("seconds")
    if seconds:  # how long the run took: the full run must stay under the 15 minutes
        each = ", ".join(f"{name} {s:,.0f}" for name, s in seconds.items())
        lines += ["", f"Seconds per benchmark: {each} ({sum(seconds.values()) / 60:.1f} min in all)."]
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else max(Path(__file__).with_name("results").glob("*.json"))
    print(markdown(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
