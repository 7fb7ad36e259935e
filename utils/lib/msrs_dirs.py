"""subset_data_dir.sh, copy_data_dir.sh, combine_data.sh: write new data directories.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from typing import Dict, List, Sequence, Set, Tuple

from msrs_datafiles import (
    Line,
    Table,
    ToolError,
    fields,
    file_bytes,
    file_kind,
    list_dir,
    make_spk2utt,
    read_id_list,
    show,
    utt_speaker,
    write_lines,
)


def _prepare_dest(dest: str, srcs: Sequence[str], prog: str) -> None:
    for s in srcs:
        if os.path.isdir(dest) and os.path.samefile(dest, s):
            raise ToolError(f"destination {dest} is the same directory as source {s}")
    os.makedirs(dest, exist_ok=True)


def _finish_dest(
    dest: str, out: Dict[str, List[str]], copies: Dict[str, str], prog: str
) -> None:
    """Writes the files of a new directory and removes stale data files in it."""
    existing, _ = list_dir(dest)
    stale = [n for n in existing if n not in out]
    for n in stale:
        os.remove(os.path.join(dest, n))
    if stale:
        print(
            f"{prog}: removed stale data file(s) from {dest}: {' '.join(stale)}",
            file=sys.stderr,
        )
    for n in sorted(out):
        write_lines(os.path.join(dest, n), out[n])
    for n, src in sorted(copies.items()):
        shutil.copyfile(src, os.path.join(dest, n))


def _write_selection(
    src: str, dest: str, keep_utts: Set[str], prog: str
) -> Tuple[Dict[str, List[str]], Dict[str, str]]:
    """Filters every data file of ``src`` to ``keep_utts`` (files for ``dest``)."""
    names, other = list_dir(src)
    has_segments = "segments" in names
    tables = {n: Table.read(os.path.join(src, n), n) for n in names if n != "spk2utt"}
    out: Dict[str, List[str]] = {}
    recos: Set[str] = set()
    if has_segments:
        recos = {
            fields(ln.value)[0]
            for ln in tables["segments"].lines
            if ln.key in keep_utts and ln.value
        }
    speakers: Set[str] = set()
    if "utt2spk" in tables:
        speakers = {
            utt_speaker(ln) for ln in tables["utt2spk"].lines if ln.key in keep_utts
        }
    for n, t in tables.items():
        kind = file_kind(n, has_segments)
        wanted = keep_utts if kind == "utt" else recos if kind == "reco" else speakers
        out[n] = [
            ln.text for ln in sorted(t.lines, key=lambda x: x.key) if ln.key in wanted
        ]
    if "utt2spk" in tables:
        u2s = sorted(
            (ln for ln in tables["utt2spk"].lines if ln.key in keep_utts),
            key=lambda x: x.key,
        )
        out["spk2utt"] = make_spk2utt(u2s)
    copies = {n: os.path.join(src, n) for n in other}
    return out, copies


def _utterances(src: str) -> List[str]:
    """Sorted utterance ids of a directory (utt2spk, else text, segments, ...)."""
    names, _ = list_dir(src)
    has_segments = "segments" in names
    order = ["utt2spk", "text", "segments"] + [
        n for n in names if file_kind(n, has_segments) == "utt"
    ]
    for n in order:
        if n in names:
            return sorted(set(Table.read(os.path.join(src, n), n).keys()))
    raise ToolError(f"{src}: no per-utterance file (utt2spk, text, segments, *.scp)")


def subset(args: argparse.Namespace) -> int:
    prog = "subset_data_dir.sh"
    chosen = [
        o
        for o in ("utt_list", "spk_list", "first", "last", "random")
        if getattr(args, o) is not None
    ]
    if len(chosen) != 1:
        raise ToolError(
            "give exactly one of --utt-list, --spk-list, --first, --last, --random"
        )
    src, dest = args.src, args.dest
    utts = _utterances(src)
    if args.utt_list is not None:
        wanted = read_id_list(args.utt_list)
        have = set(utts)
        unknown = [u for u in wanted if u not in have]
        if unknown:
            print(
                f"{prog}: warning: {len(unknown)} of {len(wanted)} ids in {args.utt_list} are not "
                f"utterances of {src} (e.g. '{show(unknown[0])}')",
                file=sys.stderr,
            )
        keep = set(wanted) & have
    elif args.spk_list is not None:
        u2s_path = os.path.join(src, "utt2spk")
        if not os.path.isfile(u2s_path):
            raise ToolError(f"--spk-list needs {u2s_path}, which does not exist")
        wanted_spk = set(read_id_list(args.spk_list))
        u2s = Table.read(u2s_path)
        known = {utt_speaker(ln) for ln in u2s.lines}
        unknown = sorted(wanted_spk - known)
        if unknown:
            print(
                f"{prog}: warning: {len(unknown)} speaker(s) of {args.spk_list} are not in "
                f"{u2s_path} (e.g. '{show(unknown[0])}')",
                file=sys.stderr,
            )
        keep = {ln.key for ln in u2s.lines if utt_speaker(ln) in wanted_spk}
    else:
        n = (
            args.first
            if args.first is not None
            else args.last if args.last is not None else args.random
        )
        opt = (
            "--first"
            if args.first is not None
            else "--last" if args.last is not None else "--random"
        )
        if n <= 0:
            raise ToolError(f"{opt} needs a positive number, got {n}")
        if n > len(utts):
            raise ToolError(f"{opt} {n}: {src} has only {len(utts)} utterances")
        if args.first is not None:
            keep = set(utts[:n])
        elif args.last is not None:
            keep = set(utts[-n:])
        else:
            keep = set(random.Random(args.seed).sample(utts, n))
    if not keep:
        raise ToolError(f"no utterance of {src} selected; {dest} not written")
    _prepare_dest(dest, [src], prog)
    out, copies = _write_selection(src, dest, keep, prog)
    _finish_dest(dest, out, copies, prog)
    print(f"{prog}: wrote {len(keep)} of {len(utts)} utterances of {src} to {dest}")
    return 0


def copy(args: argparse.Namespace) -> int:
    prog = "copy_data_dir.sh"
    src, dest = args.src, args.dest
    names, other = list_dir(src)
    has_segments = "segments" in names
    up, us, sp, ss = args.utt_prefix, args.utt_suffix, args.spk_prefix, args.spk_suffix

    def umap(u: str) -> str:
        return f"{up}{u}{us}"

    def smap(s: str) -> str:
        return f"{sp}{s}{ss}"

    out: Dict[str, List[str]] = {}
    u2s_lines: List[Line] = []
    for n in names:
        if n == "spk2utt":
            continue
        t = Table.read(os.path.join(src, n), n)
        kind = file_kind(n, has_segments)
        new: List[Line] = []
        for ln in t.lines:
            if n == "utt2spk":
                new.append(ln.rekeyed(umap(ln.key), smap(utt_speaker(ln))))
            elif kind == "utt":
                new.append(ln.rekeyed(umap(ln.key)))
            elif kind == "spk":
                new.append(ln.rekeyed(smap(ln.key)))
            else:
                new.append(ln)
        new.sort(key=lambda x: x.key)
        out[n] = [ln.text for ln in new]
        if n == "utt2spk":
            u2s_lines = new
    if "utt2spk" in out:
        out["spk2utt"] = make_spk2utt(u2s_lines)
    _prepare_dest(dest, [src], prog)
    _finish_dest(dest, out, {n: os.path.join(src, n) for n in other}, prog)
    print(f"{prog}: copied {src} to {dest} ({len(u2s_lines)} utterances)")
    return 0


def combine(args: argparse.Namespace) -> int:
    prog = "combine_data.sh"
    dest, srcs = args.dest, args.srcs
    listing = {s: list_dir(s) for s in srcs}
    with_segments = [s for s in srcs if "segments" in listing[s][0]]
    need_synth = with_segments and len(with_segments) < len(srcs)
    if need_synth:
        lacking = [
            s for s in srcs if s not in with_segments and "utt2dur" not in listing[s][0]
        ]
        if lacking:
            raise ToolError(
                f"{', '.join(with_segments)} have segments but {', '.join(lacking)} have neither "
                "segments nor utt2dur, so their recordings cannot be described; "
                "add utt2dur (or segments) to them"
            )
    has_segments = bool(with_segments)
    all_names = sorted({n for s in srcs for n in listing[s][0]} - {"spk2utt"})
    out: Dict[str, List[str]] = {}
    for n in all_names:
        present = [
            s for s in srcs if n in listing[s][0] or (n == "segments" and need_synth)
        ]
        if len(present) < len(srcs):
            missing = [s for s in srcs if s not in present]
            print(
                f"{prog}: warning: {n} is missing from {', '.join(missing)}; not written",
                file=sys.stderr,
            )
            continue
        kind = file_kind(n, has_segments)
        merged: Dict[str, Tuple[Line, str]] = {}
        dups: List[str] = []
        for s in srcs:
            if n == "segments" and s not in with_segments:
                t = Table(n, os.path.join(s, "utt2dur"))
                for ln in Table.read(os.path.join(s, "utt2dur"), "utt2dur").lines:
                    dur = fields(ln.value)[0] if ln.value else "0"
                    t.lines.append(
                        Line(
                            ln.key,
                            f"{ln.key} 0 {dur}",
                            f"{ln.key} {ln.key} 0 {dur}",
                            ln.lineno,
                        )
                    )
            else:
                t = Table.read(os.path.join(s, n), n)
            for ln in t.lines:
                if ln.key in merged:
                    first, where = merged[ln.key]
                    if kind == "utt" or first.text != ln.text:
                        dups.append(
                            f"'{show(ln.key)}' ({where}:{first.lineno} and {t.path}:{ln.lineno})"
                        )
                    continue
                merged[ln.key] = (ln, t.path)
        if dups:
            what = (
                "utterance"
                if kind == "utt"
                else "recording" if kind == "reco" else "speaker"
            )
            shown = "; ".join(dups[:10]) + (
                f"; ... {len(dups) - 10} more" if len(dups) > 10 else ""
            )
            raise ToolError(
                f"{len(dups)} duplicate {what} id(s) in {n}"
                f"{'' if kind == 'utt' else ' with different content'}: {shown}; {dest} not written"
            )
        out[n] = [merged[k][0].text for k in sorted(merged)]
    if "utt2spk" in out:
        u2s = []
        for s in srcs:
            u2s += Table.read(os.path.join(s, "utt2spk")).lines
        out["spk2utt"] = make_spk2utt(sorted(u2s, key=lambda x: x.key))
    copies: Dict[str, str] = {}
    for n in sorted({n for s in srcs for n in listing[s][1]}):
        contents = {
            file_bytes(os.path.join(s, n)) if n in listing[s][1] else None for s in srcs
        }
        if len(contents) == 1 and None not in contents:
            copies[n] = os.path.join(srcs[0], n)
        else:
            print(
                f"{prog}: warning: {n} differs between sources (or is missing from some); not copied",
                file=sys.stderr,
            )
    _prepare_dest(dest, srcs, prog)
    _finish_dest(dest, out, copies, prog)
    n_utts = len(out.get("utt2spk", out.get("text", [])))
    print(f"{prog}: combined {len(srcs)} directories into {dest} ({n_utts} utterances)")
    return 0
