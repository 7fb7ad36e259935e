"""Write ``RESULTS.md`` and its PNG plots from an ``exp`` directory.

Sections: Environment (versions, hardware, git revision), WER and CER tables
(model x condition, columns clean then each SNR, descending), WER-vs-SNR plot,
one section per model (config summary, sparsity summary, plots, notes on
skipped plots) and ESPnet-style detail tables (#Snt #Wrd Corr Sub Del Ins Err
S.Err).  Plots go to ``plots_dir/<model>/{curves,mask_density,grad_flow}.png``
and ``plots_dir/wer_vs_snr.png``; RESULTS.md links them relatively.
"""

import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from msrs.report.data_counts import data_counts_table
from msrs.report.environment import collect_environment
from msrs.report.experiments import (
    DecodeResult,
    TrainingRun,
    scan_exp,
    summarize_config,
)
from msrs.report.plots import (
    SkipPlot,
    plot_curves,
    plot_grad_flow,
    plot_mask_density,
    plot_wer_vs_snr,
)
from msrs.report.training_logs import find_event

logger = logging.getLogger(__name__)


def _slug(name: str) -> str:
    return name.replace("/", "__").replace(" ", "_") or "model"


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _snr_label(snr: Optional[float]) -> str:
    return "clean" if snr is None else f"{snr:g} dB"


def _metric(d: DecodeResult, key: str) -> Optional[float]:
    v = d.scores.get(key)
    return float(v) if isinstance(v, (int, float)) else None


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], n_left: int = 99
) -> List[str]:
    """Markdown table; the first ``n_left`` columns left-aligned, the rest right."""
    sep = ["---" if i < n_left else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def wer_ci(d: DecodeResult) -> Optional[Tuple[float, float, float]]:
    """``(level, lo, hi)`` of a decoding's WER confidence interval, in percent.

    From ``scores.json``'s ``wer_ci`` (msrs.bin.score), or, for a score
    directory written before it existed, the bootstrap of
    :func:`msrs.scoring.bootstrap.bootstrap_wer_ci` (defaults: 1000 resamples,
    seed 0, 95 %) on the per-utterance counts next to it; ``None`` without either.
    """
    ci = d.scores.get("wer_ci")
    if isinstance(ci, dict) and all(
        isinstance(ci.get(k), (int, float)) for k in ("lo", "hi")
    ):
        return float(ci.get("level", 0.95)), float(ci["lo"]), float(ci["hi"])
    from msrs.scoring.bootstrap import bootstrap_wer_ci, read_utt_errors

    try:
        u = read_utt_errors(d.path.parent)
        _, lo, hi = bootstrap_wer_ci(u.errors, u.ref_words)
    except (OSError, ValueError):
        return None
    return 0.95, lo, hi


def format_wer(d: DecodeResult) -> Optional[str]:
    """``WER [lo, hi]`` of a decoding (two decimals), or ``WER`` without an interval."""
    v = _metric(d, "wer")
    if v is None:
        return None
    ci = wer_ci(d)
    return f"{v:.2f}" if ci is None else f"{v:.2f} [{ci[1]:.2f}, {ci[2]:.2f}]"


def metric_tables(decodes: Sequence[DecodeResult], key: str) -> List[str]:
    """Markdown table ``model | condition | clean | <snr> dB ...`` for ``wer``/``cer``.

    WER cells carry the bootstrap confidence interval when there is one:
    ``21.09 [17.19, 25.00]``.
    """
    snrs = sorted({d.snr for d in decodes if d.snr is not None}, reverse=True)
    cols: List[Optional[float]] = [None] + snrs
    cells: Dict[Tuple[str, str], Dict[Optional[float], str]] = {}
    for d in decodes:
        v = _metric(d, key)
        if v is not None:
            text = format_wer(d) if key == "wer" else f"{v:.2f}"
            cells.setdefault((d.model, d.condition), {})[d.snr] = text or f"{v:.2f}"
    rows = []
    for (model, cond), vals in sorted(cells.items()):
        rows.append(
            [f"`{model}`", cond]
            + [vals[s] if s in vals else "–" for s in cols]
        )
    return _table(
        ["model", "condition"] + [_snr_label(s) for s in cols], rows, n_left=2
    )


def scored_table(decodes: Sequence[DecodeResult]) -> List[str]:
    """``scored N of M`` reference utterances per model, condition and SNR.

    ``M`` is the full reference (``data/<test>/text``); the ``M - N``
    utterances without a hypothesis counted as all deletions in the WER.
    """
    snrs = sorted({d.snr for d in decodes if d.snr is not None}, reverse=True)
    cols: List[Optional[float]] = [None] + snrs
    cells: Dict[Tuple[str, str], Dict[Optional[float], str]] = {}
    for d in decodes:
        m = d.scores.get("n_utts")
        if not isinstance(m, int):
            continue
        n = d.scores.get("n_scored", m - int(d.scores.get("n_missing", 0) or 0))
        cells.setdefault((d.model, d.condition), {})[d.snr] = (
            f"{n} of {m}" if n == m else f"**{n} of {m}**"
        )
    rows = [
        [f"`{model}`", cond] + [vals.get(s, "–") for s in cols]
        for (model, cond), vals in sorted(cells.items())
    ]
    return _table(
        ["model", "condition"] + [_snr_label(s) for s in cols], rows, n_left=2
    )


def detail_table(decodes: Sequence[DecodeResult], unit: str) -> List[str]:
    """ESPnet-style ``|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|`` rows."""
    rows = []
    for d in decodes:
        c = d.scores.get(unit)
        if not isinstance(c, dict):
            continue
        r = c.get("rates", {})
        rows.append(
            [
                f"`{d.model}`",
                d.condition,
                _snr_label(d.snr),
                str(c.get("n_snt", "")),
                str(c.get("n_ref", "")),
            ]
            + [
                f"{r[k]:.1f}" if isinstance(r.get(k), (int, float)) else "–"
                for k in ("corr", "sub", "del", "ins", "err", "snt_err")
            ]
        )
    return _table(
        [
            "model",
            "condition",
            "SNR",
            "Snt",
            "Wrd" if unit == "word" else "Chr",
            "Corr",
            "Sub",
            "Del",
            "Ins",
            "Err",
            "S.Err",
        ],
        rows,
        n_left=3,
    )


def sparsity_summary(run: TrainingRun) -> Dict[str, str]:
    """Freeze epoch/step, density at freeze, final density, other events."""
    out: Dict[str, str] = {}
    ev = run.events
    fe = find_event(ev, "freeze_epoch", "frozen_epoch", "epoch_frozen")
    fs = find_event(ev, "freeze_step", "frozen_step", "step_frozen")
    fd = find_event(ev, "density_at_freeze", "freeze_density", "global_density")
    if fe is not None:
        out["mask frozen at epoch"] = f"{fe:g}" + (
            f" (step {fs:g})" if fs is not None else ""
        )
    if fd is not None:
        out["density at freeze"] = f"{fd:.4f}"
    freezes = [e for e in ev.get("events", []) if isinstance(e, dict) and e.get("type") == "freeze"]
    td = freezes[0].get("threshold_density") if freezes else None
    if isinstance(td, (int, float)):  # the logits' own phi > threshold decision (search methods)
        out["threshold decision density at freeze"] = f"{td:.4f}"
    if run.sparsity:
        last = run.sparsity[-1]
        gd = last.get("global_density")
        if isinstance(gd, (int, float)):
            out["final global density"] = (
                f"{gd:.4f} (epoch {last.get('epoch')}, phase {last.get('phase')})"
            )
        phases = []
        for r in run.sparsity:
            ph = r.get("phase")
            if ph is not None and (not phases or phases[-1][1] != ph):
                phases.append((r.get("epoch"), ph))
        if phases:
            out["phases"] = ", ".join(f"{p} from epoch {e}" for e, p in phases)
    plan = ev.get("phases")
    if isinstance(plan, list) and plan and all(isinstance(p, dict) for p in plan):
        out["phase plan"] = " -> ".join(
            f"{p.get('name', '?')} (until {p.get('end') if p.get('end') is not None else 'end'})"
            for p in plan
        )
    shown = {"freeze_epoch", "freeze_step", "density_at_freeze", "phases", "events"}
    other = [
        f"{k}={v}"
        for k, v in ev.items()
        if k not in shown and isinstance(v, (int, float, str, bool))
    ]
    if other:
        out["events"] = ", ".join(other)
    return out


def _try_plot(
    fn: Callable[..., Path], notes: List[str], what: str, *args: Any, **kw: Any
) -> Optional[Path]:
    try:
        return fn(*args, **kw)
    except SkipPlot as e:
        notes.append(f"{what} plot skipped: {e}.")
        logger.info("%s plot skipped: %s", what, e)
    except Exception as e:  # a broken plot must not lose the report
        notes.append(f"{what} plot failed: {type(e).__name__}: {e}.")
        logger.warning("%s plot failed", what, exc_info=True)
    return None


def write_report(
    exp_dir: Union[str, Path],
    out: Union[str, Path] = "RESULTS.md",
    plots_dir: Optional[Union[str, Path]] = None,
    command: Optional[str] = None,
) -> Dict[str, Any]:
    """Scan ``exp_dir``, draw the plots and write ``out``.

    Args:
        exp_dir: recipe ``exp`` directory.
        out: RESULTS.md path.
        plots_dir: PNG directory (default ``<exp_dir>/plots``).
        command: command line recorded in the file (default ``sys.argv``).

    Returns:
        ``{"runs": [names], "decodes": n, "plots": [paths], "notes": [str]}``.
    """
    exp_dir = Path(exp_dir)
    out = Path(out)
    plots_dir = Path(plots_dir) if plots_dir is not None else exp_dir / "plots"
    runs, decodes = scan_exp(exp_dir)
    env = collect_environment()
    command = command or " ".join(
        shlex.quote(a) for a in [sys.executable, "-m", "msrs.bin.report"] + sys.argv[1:]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    base = out.parent
    plots: List[Path] = []
    notes_all: List[str] = []

    lines: List[str] = [
        f"<!-- Generated by msrs.bin.report on {env['date']}; regenerate instead of editing. -->",
        "# RESULTS",
        "",
        "## Environment",
        "",
        f"- date: `{env['date']}`",
        f"- python: `{env['python']}` on `{env['platform']}`",
        "- versions: " + ", ".join(f"{k} `{v}`" for k, v in env["versions"].items()),
        f"- CPU: {env['cpu']}",
        f"- GPU: {env['gpu']}",
    ]
    git = env["git"]
    dirty = {True: " (dirty: uncommitted changes)", False: " (clean)", None: ""}[
        git["dirty"]
    ]
    lines += [
        f"- git revision: `{git['revision']}`{dirty}",
        f"- command: `{command}`",
        f"- exp dir: `{exp_dir}`",
        "- environment = the machine that wrote this report; training may have run elsewhere.",
        "",
    ]

    # ---- WER / CER
    lines += ["## Word error rate (%)", ""]
    if decodes:
        lines += metric_tables(decodes, "wer") + [""]
        levels = sorted({c[0] for c in (wer_ci(d) for d in decodes) if c is not None})
        if levels:
            lines += [
                "WER [lo, hi]: "
                + "/".join(f"{100 * lv:g}%" for lv in levels)
                + " confidence interval, percentile bootstrap over the test "
                "utterances (msrs.scoring.bootstrap; it does not cover the "
                "spread over new speakers: compare test sets of other speakers).",
                "",
            ]
        lines += [
            "Scored reference utterances (a test utterance without hypothesis "
            "counts as all deletions; **bold**: some are missing):",
            "",
        ]
        lines += scored_table(decodes) + [""]
        # the recipe directory holds exp/, data/ and dump/ (RESULTS.md may be elsewhere)
        counts = data_counts_table(exp_dir.resolve().parent)
        if counts:
            lines += ["Utterances per data set (stage 1 -> 2 -> 3):", ""] + counts + [""]
        lines += ["## Character error rate (%)", ""]
        lines += metric_tables(decodes, "cer") + [""]
        series: Dict[str, Dict[Optional[float], float]] = {}
        for d in decodes:
            v = _metric(d, "wer")
            if v is not None:
                series.setdefault(f"{d.model} / {d.condition}", {})[d.snr] = v
        notes: List[str] = []
        p = _try_plot(
            plot_wer_vs_snr, notes, "WER-vs-SNR", series, plots_dir / "wer_vs_snr.png"
        )
        if p:
            plots.append(p)
            lines += [f"![WER vs SNR]({_rel(p, base)})", ""]
        lines += [f"_{n}_" for n in notes] + ([""] if notes else [])
        notes_all += notes
    else:
        lines += [
            f"_No scores.json under `{exp_dir}`: nothing decoded/scored yet._",
            "",
        ]
        notes_all.append("no scores.json found")

    # ---- models
    lines += ["## Models", ""]
    if not runs:
        lines += [
            f"_No training directory (config.yaml + checkpoint/log) under `{exp_dir}`._",
            "",
        ]
        notes_all.append("no training directory found")
    for run in runs:
        notes = []
        lines += [f"### `{run.name}`", ""]
        rows = [["config", f"`{_rel(run.path / 'config.yaml', base)}`"]]
        rows += [[k, v] for k, v in summarize_config(run).items()]
        rows += [[k, v] for k, v in sparsity_summary(run).items()]
        if run.stats_source:
            rows.append(["statistics from", f"`{_rel(Path(run.stats_source), base)}`"])
        lines += _table(["item", "value"], rows) + [""]
        slug = plots_dir / _slug(run.name)
        if run.stats:
            p = _try_plot(
                plot_curves,
                notes,
                "loss/accuracy",
                run.stats,
                slug / "curves.png",
                title=run.name,
            )
        else:
            notes.append(
                "loss/accuracy plot skipped: no checkpoint.pth reporter state and no epoch lines in train.log."
            )
            p = None
        if p:
            plots.append(p)
            lines += [f"![loss and accuracy]({_rel(p, base)})", ""]
        if run.sparsity:
            p = _try_plot(
                plot_mask_density,
                notes,
                "mask-density",
                run.sparsity,
                run.events,
                slug / "mask_density.png",
                title=run.name,
            )
            if p:
                plots.append(p)
                lines += [f"![mask density]({_rel(p, base)})", ""]
        else:
            notes.append("mask-density plot skipped: no sparsity.jsonl.")
        if run.grad_flow:
            p = _try_plot(
                plot_grad_flow,
                notes,
                "gradient-flow",
                run.grad_flow,
                slug / "grad_flow.png",
                title=run.name,
            )
            if p:
                plots.append(p)
                lines += [f"![gradient flow]({_rel(p, base)})", ""]
        else:
            notes.append("gradient-flow plot skipped: no grad_flow.jsonl.")
        lines += [f"- _{n}_" for n in notes] + ([""] if notes else [])
        notes_all += [f"{run.name}: {n}" for n in notes]

    # ---- details
    if decodes:
        lines += ["## Details", "", "### WER", ""] + detail_table(decodes, "word")
        lines += ["", "### CER", ""] + detail_table(decodes, "char") + [""]
        lines += (
            ["Scores files:", ""]
            + [f"- `{_rel(d.path, base)}`" for d in decodes]
            + [""]
        )

    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(out)
    logger.info(
        "wrote %s (%d models, %d decodings, %d plots)",
        out,
        len(runs),
        len(decodes),
        len(plots),
    )
    return {
        "runs": [r.name for r in runs],
        "decodes": len(decodes),
        "plots": [str(p) for p in plots],
        "notes": notes_all,
    }
