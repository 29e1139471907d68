"""Draws create latency against offered load, Usher and the bare baseline, from the JSON `npm run bench` writes.

usage: .tools/venv/bin/python bench/chart.py bench/results/latest.json docs/benchmark-create-latency.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(source: str, target: str) -> None:
    with open(source) as f:
        run = json.load(f)
    sweep = run["r1"]["sweep"]
    offered = [p["offered"] for p in sweep]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for side, colour, label in (("bare", "#7b8794", "bare workflow.start (no-op)"), ("usher", "#2b6cb0", "Usher POST /v1/invitations")):
        ax.plot(offered, [p[side]["p50"] for p in sweep], marker="o", color=colour, label=f"{label}, p50")
        ax.plot(offered, [p[side]["p99"] for p in sweep], marker="s", linestyle="--", color=colour, label=f"{label}, p99")
    ax.axhline(50, color="#c53030", linewidth=0.8, linestyle=":", label="R1 target: p99 < 50 ms at half the bare rate")
    bare_rate = run["r1"]["bare"]["rate"]
    ax.axvline(bare_rate / 2, color="#c53030", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (creates per second, open loop)")
    ax.set_ylabel("latency from when the call was due (ms)")
    m = run["machine"]
    ax.set_title(f"Create latency vs offered load · {m['cpus']} cores, node {m['node']} · {run['startedAt'][:16].replace('T', ' ')} UTC", fontsize=9)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(target)
    print(f"chart written to {target}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
