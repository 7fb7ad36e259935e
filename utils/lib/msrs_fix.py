"""fix_data_dir.sh: repairs a data directory in place (Python 3 standard library only)."""

from __future__ import annotations

import argparse
import collections
import os
import shutil
from typing import Dict, List, Set, Tuple

from msrs_datafiles import (
    Line,
    Table,
    ToolError,
    check_value,
    fields,
    file_bytes,
    file_kind,
    lines_bytes,
    list_dir,
    make_spk2utt,
    utt_speaker,
    write_lines,
)


def _clean(table: Table) -> Tuple[Dict[str, Line], Dict[str, str]]:
    """Valid lines by key, and ``key -> reason`` for keys that must go."""
    keep: Dict[str, Line] = {}
    bad: Dict[str, str] = {}
    for ln in table.lines:
        if ln.key in bad:
            continue
        if ln.key in keep:
            if keep[ln.key].text != ln.text:
                del keep[ln.key]
                bad[ln.key] = f"conflicting duplicate lines in {table.name}"
            continue
        msg = check_value(table.name, ln)
        if msg:
            bad[ln.key] = f"invalid line in {table.name}"
            if table.name == "text":
                bad[ln.key] = "empty transcript in text"
            continue
        keep[ln.key] = ln
    return keep, bad


def _backup_and_replace(
    d: str, name: str, lines: List[str], backups: List[str]
) -> bool:
    """Writes ``d/name`` if its content changes; backs the original up first."""
    path = os.path.join(d, name)
    old = file_bytes(path)
    if old is not None and old == lines_bytes(lines):
        return False
    if old is not None:
        bdir = os.path.join(d, ".backup")
        os.makedirs(bdir, exist_ok=True)
        dest, k = os.path.join(bdir, name), 1
        while os.path.exists(dest):
            k += 1
            dest = os.path.join(bdir, f"{name}.{k}")
        shutil.copy2(path, dest)
        backups.append(os.path.relpath(dest, d))
    write_lines(path, lines)
    return True


def fix(args: argparse.Namespace) -> int:
    prog, d = "fix_data_dir.sh", args.dir.rstrip("/") or "/"
    names, _ = list_dir(d)
    if "utt2spk" not in names:
        raise ToolError(
            f"{d}/utt2spk: missing; fix_data_dir.sh needs it to know the utterances"
        )
    has_segments = "segments" in names
    tables = {n: Table.read(os.path.join(d, n), n) for n in names if n != "spk2utt"}
    clean = {n: _clean(t) for n, t in tables.items()}
    utt_files = [n for n in tables if file_kind(n, has_segments) == "utt"]
    utt_files.sort(key=lambda n: (n != "utt2spk", n))
    reco_files = [n for n in tables if file_kind(n, has_segments) == "reco"]
    spk_files = [n for n in tables if file_kind(n, has_segments) == "spk"]

    all_utts: Set[str] = set()
    for n in utt_files:
        all_utts.update(tables[n].keys())
    reasons: Dict[str, int] = collections.Counter()
    kept: List[str] = []
    for utt in sorted(all_utts):
        reason = None
        for n in utt_files:
            keep, bad = clean[n]
            if utt not in keep:
                reason = bad.get(utt, f"missing from {n}")
                break
        if reason is None and has_segments:
            reco = fields(clean["segments"][0][utt].value)[0]
            for n in reco_files:
                keep, bad = clean[n]
                if reco not in keep:
                    reason = (
                        f"recording: {bad[reco]}"
                        if reco in bad
                        else f"recording missing from {n}"
                    )
                    break
        if reason is None:
            kept.append(utt)
        else:
            reasons[reason] += 1
    if not kept:
        raise ToolError(
            f"{d}: no utterance is valid in every file "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))}); nothing changed"
        )
    kept_set = set(kept)
    out: Dict[str, List[str]] = {}
    for n in utt_files:
        keep = clean[n][0]
        out[n] = [keep[u].text for u in kept]
    used_recos: Set[str] = set()
    dropped_recos: Dict[str, int] = {}
    if has_segments:
        used_recos = {fields(clean["segments"][0][u].value)[0] for u in kept}
        for n in reco_files:
            keep = clean[n][0]
            out[n] = [keep[r].text for r in sorted(keep) if r in used_recos]
            dropped_recos[n] = len(tables[n].lines) - len(out[n])
    u2s = [clean["utt2spk"][0][u] for u in kept]
    speakers = {utt_speaker(ln) for ln in u2s}
    out["spk2utt"] = make_spk2utt(u2s)
    for n in spk_files:
        keep = clean[n][0]
        out[n] = [keep[s].text for s in sorted(keep) if s in speakers]

    backups: List[str] = []
    changed = [n for n in sorted(out) if _backup_and_replace(d, n, out[n], backups)]
    removed = len(all_utts) - len(kept)
    print(
        f"{prog}: {d}: kept {len(kept)} of {len(all_utts)} utterances (removed {removed})"
    )
    for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{prog}:   {count} removed: {reason}")
    for n, count in sorted(dropped_recos.items()):
        if count:
            print(
                f"{prog}:   {count} line(s) of unused or invalid recordings dropped from {n}"
            )
    if changed:
        msg = f"{prog}: {d}: rewrote {' '.join(changed)}"
        if backups:
            msg += f"; originals in {d}/.backup/ ({' '.join(b.split('/', 1)[1] for b in backups)})"
        print(msg)
    else:
        print(f"{prog}: {d}: nothing to change")
    return 0
