"""Console progress of running trainings: one line per finished epoch.

    python -m msrs.report.progress exp/vsr_train_vsr_msrs exp/avsr_train_avsr_msrs \\
        --parent_pid $$ [--interval 5]

Follows each run's ``train.log`` (ESPnet's ``<N>epoch results: [train] ...
[valid] ...`` lines) and prints, per new epoch::

    [vsr_train_vsr_msrs] epoch 7/40  loss 12.31  valid acc 0.452  15.2 s/epoch  about 8 min 22 s left

``max_epoch`` comes from the run's ``config.yaml`` (ESPnet writes it at the
start, with command-line overrides applied).  The time left is the remaining
epochs times the mean wall time of the last three epochs (log timestamps).
Stops when every run has its ``.done.stage7`` marker, when ``--parent_pid``
is gone, or on SIGTERM/SIGINT (after a last look at the logs).  egs/mini_lrs3
runs it during stage 7.
"""

import argparse
import datetime
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from msrs.report.training_logs import parse_train_log_line

_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3})")
_MAX_EPOCH = re.compile(r"^max_epoch:\s*(\d+)\s*$", re.M)


def _fmt_left(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class RunFollower:
    """Reads new epoch lines of one run's ``train.log``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = self.path.name
        self.offset = 0
        self.stamps: List[datetime.datetime] = []
        self.first_stamp: Optional[datetime.datetime] = None
        self.durations: List[float] = []
        self.max_epoch: Optional[int] = None
        self.last_epoch = 0

    def _read_max_epoch(self) -> None:
        if self.max_epoch is None:
            try:
                m = _MAX_EPOCH.search((self.path / "config.yaml").read_text())
            except OSError:
                return
            if m:
                self.max_epoch = int(m.group(1))

    def done(self) -> bool:
        return (self.path / ".done.stage7").exists()

    def poll(self) -> List[str]:
        """Lines to print for the epochs finished since the last call."""
        log = self.path / "train.log"
        try:
            size = log.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # a new log (restarted run)
            self.offset = 0
        with log.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        self._read_max_epoch()
        out = []
        for raw in chunk[: end + 1].decode("utf-8", "replace").splitlines():
            line = self.format_line(raw)
            if line:
                out.append(line)
        return out

    def format_line(self, raw: str) -> Optional[str]:
        s = _STAMP.search(raw)
        t = None
        if s:
            t = datetime.datetime.strptime(s.group(1), "%Y-%m-%d %H:%M:%S")
            t += datetime.timedelta(milliseconds=int(s.group(2)))
            if self.first_stamp is None:
                self.first_stamp = t
        parsed = parse_train_log_line(raw)
        if parsed is None:
            return None
        epoch, stats = parsed
        train, valid = stats.get("train", {}), stats.get("valid", {})
        if t is not None:
            # the wall time since the previous epoch line (the first epoch: since
            # the log's first timestamped line, model building included)
            prev = self.stamps[-1] if self.stamps else self.first_stamp
            if prev is not None and t > prev:
                self.durations.append((t - prev).total_seconds())
            self.stamps.append(t)
        self.last_epoch = epoch
        parts = [f"[{self.name}] epoch {epoch}" + (f"/{self.max_epoch}" if self.max_epoch else "")]
        if "loss" in train:
            parts.append(f"loss {train['loss']:.2f}")
        if "acc" in valid:
            parts.append(f"valid acc {valid['acc']:.3f}")
        if self.durations:
            recent = self.durations[-3:]
            per = sum(recent) / len(recent)
            parts.append(f"{per:.1f} s/epoch")
            if self.max_epoch:
                parts.append(f"about {_fmt_left(per * (self.max_epoch - epoch))} left")
        return "  ".join(parts)


def follow(
    runs: Sequence[Path],
    parent_pid: Optional[int] = None,
    interval: float = 5.0,
    out=sys.stdout,
) -> int:
    """Print epoch lines of ``runs`` until they are done (see the module doc)."""
    followers = [RunFollower(Path(r)) for r in runs]
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while True:
        for f in followers:
            for line in f.poll():
                print(line, file=out, flush=True)
        if stop["now"] or all(f.done() for f in followers):
            return 0
        if parent_pid is not None:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                return 0
            except PermissionError:
                pass
        for _ in range(max(1, int(interval * 10))):
            if stop["now"]:
                break
            time.sleep(0.1)


def main(cmd: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="per-epoch progress lines of running trainings")
    p.add_argument("runs", nargs="+", help="training output directories")
    p.add_argument("--parent_pid", type=int, default=None, help="stop when this process is gone")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between looks")
    args = p.parse_args(cmd)
    return follow(args.runs, args.parent_pid, args.interval)


if __name__ == "__main__":
    sys.exit(main())
