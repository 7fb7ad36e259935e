"""Report of the comparison study (egs/mini_lrs3/run_study.sh, issue 12).

    python -m msrs.bin.study_report --exp_dir egs/mini_lrs3/study/bench/exp \
        --out docs/results.md --plots_dir docs/results/

Reads every ``<modality>_study_<method>_s<seed>`` run under ``--exp_dir``
(validation curves, decodings of every test set, sparsity.jsonl,
grad_flow.jsonl) and, with ``--records_dir``, the records of earlier runs
(``msrs/report/study_records.py``: a run found under ``--exp_dir`` replaces its
record, and every such run is recorded there), and writes the claims table with verdicts, the WER table with
seed spread and bootstrap intervals, times to the target validation accuracy,
mask densities and PNG plots (msrs/report/study*.py).
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--exp_dir", required=True, help="the study's exp directory (may not exist when --records_dir has records)")
    p.add_argument(
        "--records_dir",
        default=None,
        help="run records: read for runs not under --exp_dir, written for those that are "
        "(msrs/report/study_records.py); none when not given",
    )
    p.add_argument(
        "--preset",
        default=None,
        help="the corpus preset of the runs; refused when --records_dir holds records of another",
    )
    p.add_argument("--out", required=True, help="markdown report to write")
    p.add_argument("--plots_dir", required=True, help="directory of the PNG plots")
    p.add_argument(
        "--data_dir",
        default=None,
        help="Kaldi data dirs of the study (default: <exp_dir>/../data), for the "
        "constant-sentence WER that sets the failure threshold",
    )
    p.add_argument(
        "--target_acc",
        type=float,
        default=None,
        help="target validation accuracy (default: --target_frac x the best "
        "seed-mean validation accuracy of dense/curriculum)",
    )
    p.add_argument("--target_frac", type=float, default=0.95)
    p.add_argument(
        "--fail_wer",
        type=float,
        default=None,
        help="a run fails at test WER >= this (%%; default: 90%% of the constant-sentence "
        "WER, or 80 without data)",
    )
    p.add_argument(
        "--command", default="", help="the study command, quoted in the report"
    )
    p.add_argument("--log_level", default="INFO")
    return p


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s (%(module)s) %(levelname)s: %(message)s",
    )
    from msrs.report.study import babble_snr, choose_target, load_study
    from msrs.report.study_claims import Study
    from msrs.report.study_md import constant_sentence_wer, read_text, write_report
    from msrs.report.study_regime import REGIMES, regime_targets
    from msrs.report.study_records import (
        load_meta, load_records, meta_value, save_meta, save_records,
    )

    exp = Path(args.exp_dir)
    meta = load_meta(args.records_dir) if args.records_dir else {}
    if args.preset and meta.get("preset") not in (None, args.preset):
        logging.error(
            "%s: records of preset %r, not --preset %s: use another --records_dir",
            Path(args.records_dir) / "study.json", meta["preset"], args.preset,
        )
        return 1
    local = load_study(exp) if exp.is_dir() else {}
    runs = local
    if args.records_dir:
        # every local run replaces its record; the report is made from the records alone,
        # so that a clean checkout rewrites it figure for figure
        n_written = save_records(local, args.records_dir)
        runs = load_records(args.records_dir)
        n_recorded = sum(1 for m, rs in runs.items() for r in rs
                         if not any(x.seed == r.seed for x in local.get(m, [])))
        logging.info(
            "%d runs from %s, %d more from the records in %s (%d records written or updated)",
            sum(map(len, local.values())), exp, n_recorded, args.records_dir, n_written,
        )
    if not runs:
        logging.error("%s: no study run (<modality>_study_<method>_s<seed>) found%s", exp,
                      f" and no record in {args.records_dir}" if args.records_dir else "")
        return 1
    test_sets = sorted(
        {t for rs in runs.values() for r in rs for t in r.tests if babble_snr(t) is None},
        key=lambda t: (t != "test", t),
    )
    data = Path(args.data_dir) if args.data_dir else exp.parent / "data"
    chance = None
    if (data / "train" / "text").is_file() and test_sets and (data / test_sets[0] / "text").is_file():
        chance = constant_sentence_wer(
            read_text(data / "train" / "text"), read_text(data / test_sets[0] / "text")
        )
    rb = exp / "storage" / "roi_bytes.json"
    roi_bytes = json.loads(rb.read_text()) if rb.is_file() else None
    if args.records_dir:
        chance = meta_value(meta, "constant_sentence_wer", chance)
        roi_bytes = meta_value(meta, "roi_bytes", roi_bytes)
        save_meta(args.records_dir, {"preset": args.preset, "constant_sentence_wer": chance,
                                     "roi_bytes": roi_bytes})
    fail_wer = (
        args.fail_wer
        if args.fail_wer is not None
        else (0.9 * chance if chance is not None else 80.0)
    )
    targets = {}
    if args.target_acc is not None:
        target, note = (
            args.target_acc,
            f"Target validation accuracy {args.target_acc:.3f} (given on the command line).",
        )
    else:
        # the default regime's dense baselines, else the boundary regime's (depth 4)
        for bases in (("dense", "curriculum"), ("dense_d4", "curriculum_d4")):
            target = choose_target(runs, baselines=bases, frac=args.target_frac)
            if target is not None:
                break
        note = (
            f"Target validation accuracy {target:.3f}: {args.target_frac:g} x the best seed-mean of the best "
            f"validation accuracy reached by the dense baselines ({', '.join(bases)})."
            if target is not None
            else "No dense baseline ran: no target."
        )
        # the runs of each regime with its own dense baselines (REGIMES: the boundary
        # regime *_d4, the marginal deep regime *_d8_lr25e4) are timed to that regime's
        # own target, as its claim (d-<tag>) is
        targets = regime_targets(runs, args.target_frac)
        for setting, (tag, name) in REGIMES.items():
            t = targets.get("dense" + setting)  # the regime's target (None: no dense baseline)
            own = [b + setting for b in ("dense", "curriculum")]
            if t is None or list(bases) == own:
                continue
            note += (
                f" The runs of the {name} (`*{setting}`, with their quarter-speaker and AVSR runs) are "
                f"timed to that regime's own target, {t:.3f}: "
                f"{args.target_frac:g} x the same for {', '.join(b for b in own if b in runs)} (as claim d-{tag} is)."
            )
    study = Study(runs, target, fail_wer, test_sets[0] if test_sets else "test", args.target_frac, targets)
    extra = {"records_dir": args.records_dir}
    if roi_bytes:
        extra["roi_bytes"] = roi_bytes
    write_report(
        runs,
        study,
        Path(args.out),
        Path(args.plots_dir),
        test_sets,
        chance,
        note,
        args.command,
        extra,
    )
    logging.info("wrote %s and plots in %s", args.out, args.plots_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
