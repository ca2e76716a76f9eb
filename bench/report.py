"""The README's performance figures from the last results (data/bench/results/*.json).

    .venv/bin/python bench/report.py

Prints the targets table (markdown) and writes bench/chart.svg: Cita beside the LlamaIndex
tutorial pipeline. Run the four benchmark scripts first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, ROOT  # noqa: E402

CHART = ROOT / "bench" / "chart.svg"


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def fmt(value, digits: int = 2) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def targets(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, figure name, holds)."""
    a, t, f, v = (results.get(k, {}).get("figures", {}) for k in
                  ("answer_latency", "index_throughput", "footprint", "vs_llamaindex"))
    rows = []

    def row(target, name, fig, check, digits=2, unit=""):
        if name in fig:
            rows.append((target, f"{fmt(fig[name], digits)}{unit}", name, check(fig[name])))

    row("answer p95 <= 1.5x embed + bare query", "answer_p95_ratio", a, lambda x: x <= 1.5, unit="x")
    row("build >= 0.9x raw embedding throughput", "index_throughput_ratio", t, lambda x: x >= 0.9, unit="x")
    row("unchanged rebuild of 1,000+ articles < 3 s", "unchanged_rebuild_s", t, lambda x: x < 3, unit=" s")
    row("... with zero embeddings", "unchanged_rebuild_embeddings", t, lambda x: x == 0)
    row("`cita bot` ready < 3 s", "bot_ready_s", f, lambda x: x < 3, unit=" s")
    row("`cita bot` < 400 MB resident", "bot_rss_mb", f, lambda x: x < 400, 0, " MB")
    row("`cita ask` one-shot (no target)", "ask_ready_s", f, lambda x: None, unit=" s")
    row("no torch / sentence-transformers on the bot path", "bot_heavy_imports", f,
        lambda x: not any(m in x for m in ("torch", "sentence_transformers", "transformers")))
    row("... nor on the ask path", "ask_heavy_imports", f,
        lambda x: not any(m in x for m in ("torch", "sentence_transformers", "transformers")))
    for label, name, better in (("index time vs LlamaIndex tutorial", "index_time_ratio", lambda x: x < 1),
                                ("answer p95 vs LlamaIndex tutorial", "answer_p95_vs_llamaindex", lambda x: x < 1),
                                ("memory vs LlamaIndex tutorial", "rss_vs_llamaindex", lambda x: x < 1)):
        row(f"{label} < 1x", name, v, better, unit="x")
    row("recall@1 above the LlamaIndex tutorial's", "recall_at_1_gain", v, lambda x: x > 0)
    return rows


def chart(v: dict) -> str:
    """Four pairs of horizontal bars: Cita and the LlamaIndex tutorial."""
    metrics = [
        ("Index from nothing (s)", "cita_index_s", "llamaindex_index_s", False),
        ("Answer p95 (ms)", "cita_p95_ms", "llamaindex_p95_ms", False),
        ("Resident memory (MB)", "cita_rss_mb", "llamaindex_rss_mb", False),
        ("XQuAD recall@1, en -> es", "cita_recall_at_1", "llamaindex_recall_at_1", True),
    ]
    width, label_w, bar_w, row_h = 640, 190, 330, 22
    colors = {"Cita": "#2b6cb0", "LlamaIndex tutorial": "#a0aec0"}
    parts = []
    y = 44
    for title, ck, lk, higher_better in metrics:
        if ck not in v or lk not in v:
            continue
        top = max(v[ck], v[lk]) or 1
        parts.append(f'<text x="10" y="{y + 14}" font-weight="bold">{title}</text>')
        y += 20
        for name, key in (("Cita", ck), ("LlamaIndex tutorial", lk)):
            w = max(1, bar_w * v[key] / top)
            value = f"{v[key]:.2f}" if v[key] < 10 else f"{v[key]:.0f}"
            parts.append(f'<text x="20" y="{y + 15}">{name}</text>')
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                         f'fill="{colors[name]}"/>')
            parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{value}</text>')
            y += row_h
        y += 10
    head = ('<text x="10" y="20" font-size="15" font-weight="bold">Cita and the LlamaIndex tutorial '
            'pipeline, same articles and questions</text>'
            '<text x="10" y="34" font-size="11">shorter is better, except recall</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" '
            f'font-family="sans-serif" font-size="13">\n<rect width="100%" height="100%" fill="white"/>\n'
            + head + "\n" + "\n".join(parts) + "\n</svg>\n")


def main() -> int:
    results = {k: load(k) for k in ("answer_latency", "index_throughput", "footprint", "vs_llamaindex", "omp_wait")}
    missing = [k for k, r in results.items() if not r]
    if missing:
        print(f"(no results yet for: {', '.join(missing)})")
    print("| Target | Measured | Holds |")
    print("| --- | --- | --- |")
    for target, measured, name, holds in targets(results):
        mark = "—" if holds is None else ("yes" if holds else "**no**")
        print(f"| {target} | `{name}: {measured}` | {mark} |")
    for key, r in results.items():
        if r:
            print(f"\n{key}: {r['at']}, load {r['machine']['load_1min']} on {r['machine']['cpus']} CPUs")
    if results["vs_llamaindex"]:
        CHART.write_text(chart(results["vs_llamaindex"]["figures"]))
        print(f"\nwrote {CHART.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
