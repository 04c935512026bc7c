"""PNG plots: training curves and evaluation bar charts (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(rows: list[dict], path: Path, key: str = "loss") -> Path:
    """Loss against the running step count, one colour per stage."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    offset = 0
    for stage in sorted({r.get("stage", 0) for r in rows}):
        pts = [r for r in rows if r.get("stage", 0) == stage and key in r]
        if not pts:
            continue
        xs = [offset + r["step"] for r in pts]
        ax.plot(xs, [r[key] for r in pts], marker=".", label=f"stage {stage}")
        offset = xs[-1]
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(key)
    ax.set_title("bslm SFT")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_bars(reports: list[dict], path: Path, metric: str = "accuracy") -> Path:
    """Grouped bars: one group per suite, one bar per report (run)."""
    plt = _pyplot()
    suites = sorted({s for r in reports for s in r["suites"]})
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(suites) * max(1, len(reports))), 4))
    width = 0.8 / max(1, len(reports))
    for i, rep in enumerate(reports):
        vals = [rep["suites"].get(s, {}).get(metric, 0.0) for s in suites]
        xs = [j + i * width for j in range(len(suites))]
        ax.bar(xs, vals, width, label=f"{rep.get('model', '?')} ({rep.get('mask', 'off')})")
    ax.set_xticks(
        [j + width * (len(reports) - 1) / 2 for j in range(len(suites))],
        suites,
        rotation=30,
        ha="right",
    )
    ax.set_ylabel(f"{metric} (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_rewards(rows: list[dict], path: Path, title: str = "bslm GRPO") -> Path:
    """Mean total reward and each reward's mean against the optimizer step."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    keys = ["reward"] + sorted(
        {k for r in rows for k in r if k.endswith("/mean") and k.startswith("rewards/")}
    )
    for key in keys:
        pts = [r for r in rows if key in r]
        if pts:
            label = key.removeprefix("rewards/").removesuffix("/mean")
            ax.plot(
                [r["step"] for r in pts],
                [r[key] for r in pts],
                marker=".",
                label=label,
                linewidth=2.5 if key == "reward" else 1.2,
            )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("mean reward")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
