"""PNG plots for RESULTS.md (matplotlib, Agg backend).

Every function returns the written path, or raises :class:`SkipPlot` with the
reason when its inputs are missing, so the report can note it and go on.
"""

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from msrs.report.training_logs import EpochStats, find_event  # noqa: E402

DPI = 110


class SkipPlot(Exception):
    """A plot's inputs are missing; the message says which."""


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _series(stats: EpochStats, phase: str, key: str) -> Tuple[List[int], List[float]]:
    xs, ys = [], []
    for e, s in stats.items():
        v = s.get(phase, {}).get(key)
        if v is not None and math.isfinite(v):
            xs.append(e)
            ys.append(v)
    return xs, ys


def plot_curves(stats: EpochStats, path: Path, title: str = "") -> Path:
    """Loss and accuracy per epoch, train and valid.

    Panels: ``loss`` (solid) with ``loss_att``/``loss_ctc`` (thin dashed) when
    reported; ``acc``.  Missing panels are left out.

    Args:
        stats: ``stats[epoch][phase][key]``.
        path: output PNG.
        title: figure title (the model name).

    Raises:
        SkipPlot: no loss and no accuracy values.
    """
    panels = [
        ("loss", ["loss", "loss_att", "loss_ctc"]),
        ("accuracy", ["acc"]),
    ]
    present = [
        (
            label,
            [
                k
                for k in keys
                if any(_series(stats, p, k)[0] for p in ("train", "valid"))
            ],
        )
        for label, keys in panels
    ]
    present = [(label, keys) for label, keys in present if keys]
    if not present:
        raise SkipPlot("no loss/acc in the reporter statistics")
    fig, axes = plt.subplots(
        1, len(present), figsize=(5.5 * len(present), 3.8), squeeze=False
    )
    colors = {"train": "tab:blue", "valid": "tab:orange"}
    for ax, (label, keys) in zip(axes[0], present):
        for key in keys:
            main = key == keys[0]
            for phase in ("train", "valid"):
                xs, ys = _series(stats, phase, key)
                if xs:
                    ax.plot(
                        xs,
                        ys,
                        color=colors[phase],
                        marker="o" if main else None,
                        ms=3,
                        lw=1.8 if main else 0.9,
                        ls="-" if main else "--",
                        label=f"{phase} {key}",
                    )
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _short(names: Sequence[str]) -> List[str]:
    """Drop the common dotted prefix and a trailing ``.weight``."""
    split = [n.split(".") for n in names]
    k = 0
    while (
        split and all(len(s) > k + 1 for s in split) and len({s[k] for s in split}) == 1
    ):
        k += 1
    out = []
    for s in split:
        s = s[k:]
        if len(s) > 1 and s[-1] in ("weight", "weight_orig"):
            s = s[:-1]
        out.append(".".join(s))
    return out


def _phase_changes(
    records: Sequence[Dict[str, Any]], xkey: str
) -> List[Tuple[float, str]]:
    out = []
    prev = None
    for r in records:
        ph = r.get("phase")
        if (
            ph is not None
            and prev is not None
            and ph != prev
            and r.get(xkey) is not None
        ):
            out.append((float(r[xkey]), str(ph)))
        prev = ph if ph is not None else prev
    return out


def plot_mask_density(
    records: Sequence[Dict[str, Any]],
    events: Dict[str, Any],
    path: Path,
    title: str = "",
) -> Path:
    """Per-layer mask density (heat map, layers x epochs) and global density.

    The freeze epoch (``sparsity_events.json``, else the first epoch of the
    second phase) is a red dashed line through that epoch on both panels;
    phase changes are dotted lines on the boundary before the first epoch of
    the new phase.

    Args:
        records: ``sparsity.jsonl`` records sorted by epoch.
        events: ``sparsity_events.json`` content.
        path: output PNG.
        title: figure title.

    Raises:
        SkipPlot: no records with per-layer densities.
    """
    recs = [
        r
        for r in records
        if isinstance(r.get("layers"), dict) and r.get("epoch") is not None
    ]
    if not recs:
        raise SkipPlot("no sparsity.jsonl records with per-layer densities")
    layers: List[str] = []
    for r in recs:
        for name in r["layers"]:
            if name not in layers:
                layers.append(name)
    epochs = [r["epoch"] for r in recs]
    grid = np.full((len(layers), len(recs)), np.nan)
    for j, r in enumerate(recs):
        for i, name in enumerate(layers):
            v = r["layers"].get(name)
            if isinstance(v, (int, float)):
                grid[i, j] = v
    freeze = find_event(events, "freeze_epoch", "frozen_epoch", "epoch_frozen")
    changes = _phase_changes(recs, "epoch")
    if freeze is None and changes:
        freeze = changes[0][0]

    height = min(max(3.0, 0.14 * len(layers) + 1.5), 16.0)
    fig, (ax0, ax1) = plt.subplots(
        2,
        1,
        figsize=(max(7.0, 0.25 * len(epochs) + 4), height + 2.6),
        gridspec_kw={"height_ratios": [height, 2.4]},
    )
    # Cell edges so that the epochs line up with the global-density axis below.
    ep = np.asarray(epochs, dtype=float)
    mids = (ep[1:] + ep[:-1]) / 2 if len(ep) > 1 else np.array([])
    edges = (
        np.concatenate([[ep[0] - 0.5], mids, [ep[-1] + 0.5]])
        if len(ep) > 1
        else np.array([ep[0] - 0.5, ep[0] + 0.5])
    )
    im = ax0.pcolormesh(
        edges,
        np.arange(len(layers) + 1),
        np.ma.masked_invalid(grid),
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
    )
    ax0.set_ylim(len(layers), 0)
    labels = _short(layers)
    step = max(1, math.ceil(len(layers) / 45))
    ax0.set_yticks(np.arange(0, len(layers), step) + 0.5)
    ax0.set_yticklabels(labels[::step], fontsize=6 if len(layers) > 20 else 8)
    ax0.set_ylabel("layer (input -> output)")
    ax0.set_title("mask density per layer")
    fig.colorbar(
        im, ax=[ax0, ax1], label="density (fraction kept)", fraction=0.03, pad=0.01
    )

    dens = [(r["epoch"], r.get("global_density")) for r in recs]
    dens = [(e, d) for e, d in dens if isinstance(d, (int, float))]
    if dens:
        ax1.plot(
            [e for e, _ in dens],
            [d for _, d in dens],
            marker="o",
            ms=3,
            color="black",
            label="global density",
        )
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_xlim(edges[0], edges[-1])
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("global density")
    ax1.grid(alpha=0.3)
    for ax in (ax0, ax1):
        for x, ph in changes:
            if freeze is None or x != freeze:
                ax.axvline(x - 0.5, color="grey", ls=":", lw=1)
        if freeze is not None:
            ax.axvline(freeze, color="red", ls="--", lw=1.5)
    if freeze is not None:
        ax1.annotate(
            f"mask frozen (epoch {freeze:g})",
            xy=(freeze, 1.0),
            xytext=(4, -12),
            textcoords="offset points",
            color="red",
            fontsize=8,
        )
    for x, ph in changes:
        ax1.annotate(
            ph,
            xy=(x - 0.5, 0.0),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=7,
            color="grey",
        )
    if dens:
        ax1.legend(fontsize=8, loc="lower left")
    for ax in (ax0, ax1):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_grad_flow(
    records: Sequence[Dict[str, Any]], path: Path, title: str = ""
) -> Path:
    """Gradient norm per layer over training steps (log y).

    Layers are coloured by depth (input -> output, viridis); the global norm is
    black; phase changes are dotted lines.  A second panel shows ``egf``
    (effective gradient flow) when the records have it.

    Args:
        records: ``grad_flow.jsonl`` records sorted by step.
        path: output PNG.
        title: figure title.

    Raises:
        SkipPlot: no records with per-layer norms.
    """
    recs = [
        r
        for r in records
        if isinstance(r.get("layers"), dict) and r.get("step") is not None
    ]
    if not recs:
        raise SkipPlot("no grad_flow.jsonl records with per-layer norms")
    layers: List[str] = []
    for r in recs:
        for name in r["layers"]:
            if name not in layers:
                layers.append(name)
    steps = np.asarray([r["step"] for r in recs], dtype=float)
    has_egf = any(isinstance(r.get("egf"), (int, float)) for r in recs)
    fig, axes = plt.subplots(
        2 if has_egf else 1,
        1,
        figsize=(8.5, 6.8 if has_egf else 4.6),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1.3]} if has_egf else None,
    )
    ax = axes[0][0]
    cmap = plt.get_cmap("viridis")
    n = len(layers)
    for i, name in enumerate(layers):
        ys = np.asarray(
            [
                (
                    r["layers"].get(name, np.nan)
                    if isinstance(r["layers"].get(name), (int, float))
                    else np.nan
                )
                for r in recs
            ],
            dtype=float,
        )
        ys[ys <= 0] = np.nan
        ax.plot(steps, ys, color=cmap(i / max(n - 1, 1)), lw=0.9, alpha=0.85)
    g = np.asarray(
        [
            (
                r.get("global_norm")
                if isinstance(r.get("global_norm"), (int, float))
                else np.nan
            )
            for r in recs
        ],
        dtype=float,
    )
    g[g <= 0] = np.nan
    if np.isfinite(g).any():
        ax.plot(steps, g, color="black", lw=1.8, label="global norm")
        ax.legend(fontsize=8, loc="upper right")
    ax.set_yscale("log")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title(f"gradient flow per layer ({n} layers)")
    ax.grid(alpha=0.3)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, max(n - 1, 1)))
    fig.colorbar(
        sm,
        ax=[row[0] for row in axes],
        label="layer index (input -> output)",
        fraction=0.03,
        pad=0.01,
    )
    changes = _phase_changes(recs, "step")
    for row in axes:
        for x, ph in changes:
            row[0].axvline(x, color="grey", ls=":", lw=1)
    for x, ph in changes:
        ax.annotate(
            ph,
            xy=(x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -10),
            textcoords="offset points",
            fontsize=7,
            color="grey",
        )
    if has_egf:
        ax2 = axes[1][0]
        e = np.asarray(
            [
                r.get("egf") if isinstance(r.get("egf"), (int, float)) else np.nan
                for r in recs
            ],
            dtype=float,
        )
        ax2.plot(steps, e, color="tab:red", lw=1.2)
        ax2.set_ylabel("EGF")
        ax2.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training step")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_wer_vs_snr(
    series: Dict[str, Dict[Optional[float], float]], path: Path, metric: str = "WER"
) -> Path:
    """WER (or CER) against SNR, one line per model/condition.

    The clean result (key ``None``) is drawn at the right, on a tick labelled
    ``clean``.

    Args:
        series: ``{label: {snr_db or None: percent}}``.
        path: output PNG.
        metric: y-axis label.

    Raises:
        SkipPlot: no series has a noisy (SNR) point.
    """
    series = {k: v for k, v in series.items() if any(s is not None for s in v)}
    if not series:
        raise SkipPlot("no decoding with an SNR in its name (…_snr<N>)")
    snrs = sorted({s for v in series.values() for s in v if s is not None})
    spacing = (snrs[-1] - snrs[0]) / max(len(snrs) - 1, 1) if len(snrs) > 1 else 5.0
    x_clean = snrs[-1] + max(spacing, 1.0)
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    markers = "osD^v<>ph*"
    for i, (label, pts) in enumerate(sorted(series.items())):
        xs = [s for s in snrs if s in pts]
        ys = [pts[s] for s in xs]
        line = ax.plot(xs, ys, marker=markers[i % len(markers)], label=label)[0]
        if None in pts:
            ax.plot(
                [xs[-1], x_clean] if xs else [x_clean],
                [ys[-1], pts[None]] if ys else [pts[None]],
                ls=":",
                color=line.get_color(),
            )
            ax.plot(
                [x_clean],
                [pts[None]],
                marker=markers[i % len(markers)],
                color=line.get_color(),
            )
    ticks = snrs + [x_clean]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{s:g}" for s in snrs] + ["clean"])
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel(f"{metric} (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{metric} vs SNR")
    return _save(fig, path)
