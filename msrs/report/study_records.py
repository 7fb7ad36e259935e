"""Run records: what the study report reads of each run, saved as small files beside
the report so that its figures survive the run directories.

A study run directory holds checkpoints, dumps of decodings and logs (hundreds of
MB, ignored by git).  The report needs only tens of kB of it per run (the
``StudyRun`` fields: validation curve, per-utterance test errors, densities,
gradient-flow probes, settings).  ``msrs.bin.study_report --records_dir DIR``
writes one record per finished run to ``DIR/<run dir name>.json.gz`` and reads
back the records of runs that are not under ``--exp_dir``, so

* a clean checkout regenerates ``docs/results.md`` from the committed records
  (``./run_study.sh --stage 3``) without retraining anything;
* new runs (more seeds, another regime) add to the recorded ones, and a run that
  exists locally replaces its record (a rerun is never mixed with an old copy);
* the report is always made from the records (a local run is recorded first), so
  the report of a clean checkout is the one that was committed, figure for figure.

``DIR/study.json`` keeps the facts the report takes from the data directory (the
constant-sentence WER that sets the failure threshold, the ROI bytes of the
storage check) for a report made without the data.

Records are gzip'd JSON written deterministically (sorted keys, no gzip time
stamp), so an unchanged run rewrites an identical file.
"""

import dataclasses
import gzip
import json
import logging
from pathlib import Path
from typing import Dict, List, Optional

from msrs.report.study import Epoch, SetScore, StudyRun

logger = logging.getLogger(__name__)

RECORD_VERSION = 1
META = "study.json"
SUFFIX = ".json.gz"


DIGITS = 6  # significant digits kept of every float (the report prints at most 4)


def _round(x):
    if isinstance(x, float):
        return float(f"{x:.{DIGITS}g}")
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v) for v in x]
    return x


def run_to_record(run: StudyRun) -> dict:
    """A JSON-able dict of ``run`` (its path reduced to the run directory's name, floats
    to ``DIGITS`` significant digits)."""
    d = _round(dataclasses.asdict(run))
    d["path"] = Path(run.path).name
    d["version"] = RECORD_VERSION
    return d


def record_to_run(d: dict, where: Path) -> StudyRun:
    """The ``StudyRun`` of a record; ``where`` (the record file) becomes its path.

    Raises ValueError for a record of another version or with missing fields."""
    if d.get("version") != RECORD_VERSION:
        raise ValueError(f"record version {d.get('version')!r}, this reader knows {RECORD_VERSION}")
    try:
        return StudyRun(
            method=d["method"],
            seed=int(d["seed"]),
            path=where,
            modality=d.get("modality", "vsr"),
            curve=[Epoch(int(e["epoch"]), e["acc"], float(e["seconds"])) for e in d["curve"]],
            stage1_epochs=int(d.get("stage1_epochs", 0)),
            tests={k: SetScore(**v) for k, v in d["tests"].items()},
            density={k: float(v) for k, v in (d.get("density") or {}).items()},
            global_density=d.get("global_density"),
            grad_flow=list(d.get("grad_flow") or []),
            early_epochs=int(d.get("early_epochs", 3)),
            settings=dict(d.get("settings") or {}),
        )
    except (KeyError, TypeError) as e:
        raise ValueError(f"malformed record ({e.__class__.__name__}: {e})") from e


def _write(path: Path, obj) -> bool:
    """Write ``obj`` as deterministic gzip'd JSON; False when the file already held it."""
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    data = gzip.compress(raw, compresslevel=9, mtime=0)
    if path.is_file() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def save_records(runs: Dict[str, List[StudyRun]], records_dir) -> int:
    """Write a record of every run of ``runs`` (``load_study``'s, read from run
    directories).  Returns the number of files written or changed."""
    records_dir = Path(records_dir)
    records_dir.mkdir(parents=True, exist_ok=True)
    return sum(_write(records_dir / (Path(r.path).name + SUFFIX), run_to_record(r))
               for rs in runs.values() for r in rs)


def load_records(records_dir) -> Dict[str, List[StudyRun]]:
    """Every record under ``records_dir``: ``{method: [runs sorted by seed]}``.  An
    unreadable record is reported (file and reason) and left out."""
    out: Dict[str, List[StudyRun]] = {}
    records_dir = Path(records_dir)
    if not records_dir.is_dir():
        return out
    for f in sorted(records_dir.glob("*" + SUFFIX)):
        try:
            run = record_to_run(json.loads(gzip.decompress(f.read_bytes())), f)
        except (OSError, EOFError, ValueError) as e:
            logger.error("%s: unreadable run record (%s); left out", f, e)
            continue
        out.setdefault(run.method, []).append(run)
    for rs in out.values():
        rs.sort(key=lambda r: r.seed)
    return out


def load_meta(records_dir) -> dict:
    p = Path(records_dir) / META
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except ValueError as e:
        logger.error("%s: unreadable (%s); ignored", p, e)
        return {}


def save_meta(records_dir, meta: dict) -> None:
    """Merge ``meta`` (values that are not None) into ``records_dir/study.json``."""
    p = Path(records_dir) / META
    p.parent.mkdir(parents=True, exist_ok=True)
    cur = load_meta(records_dir)
    cur.update({k: v for k, v in meta.items() if v is not None})
    text = json.dumps(cur, sort_keys=True, indent=1) + "\n"
    if not p.is_file() or p.read_text() != text:
        p.write_text(text)


def meta_value(meta: dict, key: str, computed: Optional[object]):
    """``computed`` when known (from the data), else the recorded value."""
    return computed if computed is not None else meta.get(key)
