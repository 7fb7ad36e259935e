"""PNG plots of the study report (``msrs.bin.study_report``).

Each function writes one file and returns its path, or None when the study
has nothing to draw for it (e.g. no grad-flow records).
"""

import warnings
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from msrs.report.study import StudyRun, early_layer_norms


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _color(plt, i: int, n: int):
    """The i-th of n distinct line colours (tab10 up to 10 lines, tab20 up to 20)."""
    return plt.cm.tab10(i % 10) if n <= 10 else plt.cm.tab20(i % 20)


def accuracy_curves(
    runs: Dict[str, List[StudyRun]], target: Optional[float], out: Path
) -> Optional[Path]:
    """Validation accuracy vs epoch per method: seed mean, min-max band."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    drawn = False
    for i, (method, rs) in enumerate(sorted(runs.items())):
        n = max((len(r.curve) for r in rs), default=0)
        if not n:
            continue
        acc = np.full((len(rs), n), np.nan)
        for j, r in enumerate(rs):
            for k, e in enumerate(r.curve):
                acc[j, k] = np.nan if e.acc is None else e.acc
        x = np.arange(1, n + 1)
        ok = ~np.all(np.isnan(acc), axis=0)
        if not ok.any():
            continue
        color = _color(plt, i, len(runs))
        ax.plot(
            x[ok],
            np.nanmean(acc[:, ok], 0),
            color=color,
            label=f"{method} ({len(rs)} seeds)",
        )
        ax.fill_between(
            x[ok],
            np.nanmin(acc[:, ok], 0),
            np.nanmax(acc[:, ok], 0),
            color=color,
            alpha=0.2,
        )
        stage1 = max(r.stage1_epochs for r in rs)
        if stage1:
            ax.axvline(stage1 + 0.5, color=color, ls=":", lw=1)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:.3f}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (curriculum: both stages; dotted line: end of stage 1)")
    ax.set_ylabel("validation token accuracy")
    ax.set_title("Validation accuracy per epoch: seed mean, band = min-max over seeds")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def epochs_to_target(rows: List[tuple], out: Path) -> Optional[Path]:
    """Bar chart; ``rows``: (method, epochs Summary, reached, seeds)."""
    rows = [r for r in rows if r[3]]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(rows))
    means = [r[1].mean if r[1].mean is not None else 0.0 for r in rows]
    sds = [r[1].sd or 0.0 for r in rows]
    ax.bar(x, means, yerr=sds, color="tab:blue", capsize=3)
    for i, r in enumerate(rows):
        ax.text(i, means[i], f"{r[2]}/{r[3]}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels([r[0] for r in rows], rotation=30, ha="right")
    ax.set_ylabel("epochs to target (seeds that reach it)")
    ax.set_title(
        "Epochs to the target validation accuracy (mean ± sd; label: seeds reaching / seeds)"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def grad_flow_layers(
    runs: Dict[str, List[StudyRun]], out: Path, methods=("dense", "msrs")
) -> Optional[Path]:
    """Early-training gradient norm per layer (top) and global norm over steps (bottom)."""
    have = [m for m in methods if any(r.grad_flow for r in runs.get(m, []))]
    if not have:
        return None
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 8))
    layers: List[str] = []
    for m in have:
        for r in runs[m]:
            for k in early_layer_norms(r):
                if k not in layers:
                    layers.append(k)
    for i, m in enumerate(have):
        per = np.array(
            [
                [early_layer_norms(r).get(k, np.nan) for k in layers]
                for r in runs[m]
                if r.grad_flow
            ]
        )
        ax1.semilogy(
            np.arange(len(layers)),
            np.nanmean(per, 0),
            marker="o",
            ms=3,
            label=f"{m} (seed mean)",
            color=f"C{i}",
        )
        for r in runs[m]:
            steps = [g["step"] for g in r.grad_flow if "global_norm" in g]
            ax2.semilogy(
                steps,
                [g["global_norm"] for g in r.grad_flow if "global_norm" in g],
                color=f"C{i}",
                alpha=0.6,
                label=f"{m}" if r is runs[m][0] else None,
            )
        ax2.axvline(
            max(
                (
                    g["step"]
                    for r in runs[m]
                    for g in r.grad_flow
                    if g.get("epoch", 1e9) <= r.early_epochs
                ),
                default=0,
            ),
            color=f"C{i}",
            ls=":",
            lw=1,
        )
    ax1.set_xticks(np.arange(len(layers)))
    ax1.set_xticklabels(
        [k.replace(".weight", "") for k in layers], rotation=90, fontsize=6
    )
    ax1.set_ylabel("gradient norm (early epochs)")
    ax1.set_title(
        "Task-loss gradient on the effective weights, mean over the probes of the search epochs"
    )
    ax1.legend(fontsize=8)
    ax2.set_xlabel("optimizer step (dotted: end of the early window)")
    ax2.set_ylabel("global gradient norm")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def density_layers(runs: Dict[str, List[StudyRun]], out: Path) -> Optional[Path]:
    """Final mask density per layer (seed mean) of each method with a mask below 1."""
    sparse = {
        m: rs
        for m, rs in runs.items()
        if any(r.density and min(r.density.values()) < 1.0 for r in rs)
    }
    if not sparse:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 5))
    # LayerScale renames a wrapped layer <branch>.branch.<name> (msrs/nets/layer_scale.py):
    # plotted at the position of the same layer without it
    def name(k: str) -> str:
        return k.replace(".branch.", ".")

    layers: List[str] = []
    for rs in sparse.values():
        for r in rs:
            layers += [name(k) for k in r.density if name(k) not in layers]
    for i, (m, rs) in enumerate(sorted(sparse.items())):
        per_run = [{name(k): v for k, v in r.density.items()} for r in rs if r.density]
        d = np.array([[dens.get(k, np.nan) for k in layers] for dens in per_run])
        with warnings.catch_warnings():  # a layer this method does not mask: a gap (NaN)
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(d, 0)
        ax.plot(
            np.arange(len(layers)),
            mean,
            marker="o",
            ms=3,
            label=m,
            color=_color(plt, i, len(sparse)),
        )
    ax.set_xticks(np.arange(len(layers)))
    ax.set_xticklabels(
        [k.replace(".weight", "") for k in layers], rotation=90, fontsize=6
    )
    ax.set_ylabel("mask density (end of training, seed mean)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Density per layer of each sparse method")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
