"""validate_data_dir.sh: checks a data directory (Python 3 standard library only)."""

from __future__ import annotations

import argparse
import collections
import os
import sys
from typing import Dict, Optional, Set, Tuple

from msrs_datafiles import (
    Line,
    Table,
    check_value,
    fields,
    file_kind,
    is_c_sorted,
    list_dir,
    show,
    utt_speaker,
)


class Reporter:
    """Collects problems/warnings, printing at most ``limit`` per (file, category)."""

    def __init__(self, prog: str, limit: int) -> None:
        self.prog = prog
        self.limit = limit
        self.problems = 0
        self.warnings = 0
        self._counts: Dict[Tuple[str, str], int] = collections.Counter()

    def _emit(
        self, level: str, path: str, lineno: Optional[int], msg: str, category: str
    ) -> None:
        where = f"{path}:{lineno}" if lineno else path
        key = (path, category)
        self._counts[key] += 1
        if self.limit <= 0 or self._counts[key] <= self.limit:
            print(f"{self.prog}: {level}{where}: {msg}", file=sys.stderr)

    def problem(
        self, path: str, lineno: Optional[int], msg: str, category: str = ""
    ) -> None:
        self.problems += 1
        self._emit("", path, lineno, msg, category or msg)

    def warning(
        self, path: str, lineno: Optional[int], msg: str, category: str = ""
    ) -> None:
        self.warnings += 1
        self._emit("warning: ", path, lineno, msg, category or msg)

    def flush(self) -> None:
        for (path, category), n in sorted(self._counts.items()):
            if self.limit > 0 and n > self.limit:
                print(
                    f"{self.prog}: {path}: ... and {n - self.limit} more like "
                    f"'{category}' (use --max-messages 0 to see all)",
                    file=sys.stderr,
                )


def validate(args: argparse.Namespace) -> int:
    prog, d = "validate_data_dir.sh", args.dir.rstrip("/") or "/"
    names, _ = list_dir(d)
    rep = Reporter(prog, args.max_messages)
    has_segments = "segments" in names
    required = ["utt2spk", "spk2utt"]
    if not args.no_text:
        required.append("text")
    if not args.no_video:
        required.append("video.scp")
    if not args.no_wav:
        required.append("wav.scp")
    hints = {"text": "--no-text", "video.scp": "--no-video", "wav.scp": "--no-wav"}
    for name in required:
        if name not in names:
            hint = (
                f" (pass {hints[name]} if the directory has none)"
                if name in hints
                else ""
            )
            if name == "spk2utt":
                hint = " (create it with utils/fix_data_dir.sh or utils/utt2spk_to_spk2utt.sh)"
            rep.problem(os.path.join(d, name), None, f"missing{hint}")

    tables: Dict[str, Table] = {}
    good: Dict[str, Dict[str, Line]] = {}
    for name in names:
        path = os.path.join(d, name)
        t = tables[name] = Table.read(path, name)
        for n in t.dos:
            rep.problem(
                path, n, "carriage return at end of line (DOS line ending)", "CR"
            )
        for n, msg in t.malformed:
            rep.problem(path, n, msg, "malformed")
        if not t.lines and not t.malformed:
            rep.problem(path, None, "empty file")
        first: Dict[str, Line] = {}
        for ln in t.lines:
            if ln.key in first:
                rep.problem(
                    path,
                    ln.lineno,
                    f"duplicate key '{show(ln.key)}' (first at line {first[ln.key].lineno})",
                    "duplicate key",
                )
                continue
            first[ln.key] = ln
            msg = check_value(name, ln)
            if msg:
                rep.problem(path, ln.lineno, msg, f"bad value in {name}")
        good[name] = first
        bad = is_c_sorted(t.keys())
        if bad is not None:
            prev, cur = t.lines[bad - 1], t.lines[bad]
            rep.problem(
                path,
                cur.lineno,
                f"not sorted (LC_ALL=C): key '{show(cur.key)}' comes after "
                f"'{show(prev.key)}' (line {prev.lineno}); run utils/fix_data_dir.sh",
            )

    utt_files = [n for n in names if file_kind(n, has_segments) == "utt"]
    reco_files = [n for n in names if file_kind(n, has_segments) == "reco"]
    spk_files = [n for n in names if file_kind(n, has_segments) == "spk"]
    ref = next((n for n in ("utt2spk", "text", "segments") if n in names), None)
    if ref is None and utt_files:
        ref = utt_files[0]
    n_utts = 0
    if ref is not None:
        ref_keys = good[ref]
        n_utts = len(ref_keys)
        for name in utt_files:
            if name == ref:
                continue
            path = os.path.join(d, name)
            keys = good[name]
            for ln in ref_keys.values():
                if ln.key not in keys:
                    rep.problem(
                        path,
                        None,
                        f"utterance '{show(ln.key)}' ({ref} line {ln.lineno}) is missing",
                        f"utterance missing from {name}",
                    )
            for ln in keys.values():
                if ln.key not in ref_keys:
                    rep.problem(
                        path,
                        ln.lineno,
                        f"utterance '{show(ln.key)}' is not in {ref}",
                        f"utterance not in {ref}",
                    )

    speakers: Set[str] = set()
    if "utt2spk" in names:
        u2s = good["utt2spk"]
        speakers = {utt_speaker(ln) for ln in u2s.values()}
        if "spk2utt" in names:
            path = os.path.join(d, "spk2utt")
            listed: Dict[str, int] = {}
            for ln in good["spk2utt"].values():
                if ln.key not in speakers:
                    rep.problem(
                        path,
                        ln.lineno,
                        f"speaker '{show(ln.key)}' is not in utt2spk",
                        "spk2utt speaker",
                    )
                for utt in fields(ln.value):
                    if utt in listed:
                        rep.problem(
                            path,
                            ln.lineno,
                            f"utterance '{show(utt)}' is listed twice (also line {listed[utt]})",
                            "spk2utt twice",
                        )
                        continue
                    listed[utt] = ln.lineno
                    if utt not in u2s:
                        rep.problem(
                            path,
                            ln.lineno,
                            f"utterance '{show(utt)}' is not in utt2spk",
                            "spk2utt utt",
                        )
                    elif utt_speaker(u2s[utt]) != ln.key:
                        rep.problem(
                            path,
                            ln.lineno,
                            f"utterance '{show(utt)}' is listed under speaker '{show(ln.key)}' "
                            f"but utt2spk line {u2s[utt].lineno} says '{show(utt_speaker(u2s[utt]))}'",
                            "spk2utt mismatch",
                        )
            for ln in u2s.values():
                if ln.key not in listed:
                    rep.problem(
                        path,
                        None,
                        f"utterance '{show(ln.key)}' (utt2spk line {ln.lineno}) is not listed",
                        "spk2utt missing utt",
                    )
        # Speakers should be contiguous in utterance order (split_scp.sh --utt2spk).
        seen_spk: Set[str] = set()
        prev = None
        for ln in tables["utt2spk"].lines:
            spk = utt_speaker(ln)
            if spk != prev and spk in seen_spk:
                rep.warning(
                    os.path.join(d, "utt2spk"),
                    ln.lineno,
                    f"utterances of speaker '{show(spk)}' are not contiguous in utterance "
                    "order (make utterance ids start with the speaker id)",
                    "speaker not contiguous",
                )
            seen_spk.add(spk)
            prev = spk
        for name in spk_files:
            for ln in good[name].values():
                if ln.key not in speakers:
                    rep.problem(
                        os.path.join(d, name),
                        ln.lineno,
                        f"speaker '{show(ln.key)}' is not in utt2spk",
                        f"unknown speaker in {name}",
                    )

    n_recos = 0
    if has_segments:
        used: Dict[str, int] = {}
        for ln in good["segments"].values():
            f = fields(ln.value)
            if f:
                used.setdefault(f[0], ln.lineno)
        n_recos = len(used)
        for name in reco_files:
            path = os.path.join(d, name)
            recos = good[name]
            for reco, lineno in used.items():
                if reco not in recos:
                    rep.problem(
                        path,
                        None,
                        f"recording '{show(reco)}' (segments line {lineno}) is missing",
                        f"recording missing from {name}",
                    )
            for ln in recos.values():
                if ln.key not in used:
                    rep.warning(
                        path,
                        ln.lineno,
                        f"recording '{show(ln.key)}' is not used by any segment",
                        f"unused recording in {name}",
                    )
    rep.flush()
    summary = f"{n_utts} utterances, {len(speakers)} speakers"
    if has_segments:
        summary += f", {n_recos} recordings"
    if rep.problems:
        print(
            f"{prog}: {d}: {rep.problems} problem(s) found ({summary}); "
            "utils/fix_data_dir.sh can repair most of them",
            file=sys.stderr,
        )
        return 1
    print(
        f"{prog}: {d}: OK ({summary}{f', {rep.warnings} warning(s)' if rep.warnings else ''})"
    )
    return 0
