"""split_scp.sh, filter_scp.sh, utt2spk_to_spk2utt.sh, spk2utt_to_utt2spk.sh.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional, Tuple

from msrs_datafiles import (
    ENC,
    Table,
    ToolError,
    fields,
    lines_bytes,
    make_spk2utt,
    open_bytes,
    read_id_list,
    show,
    utt_speaker,
    WS,
    write_lines,
)


def split_scp(args: argparse.Namespace) -> int:
    src, outs = args.scp, args.outputs
    data = sys.stdin.buffer.read() if src == "-" else open_bytes(src)
    raw = data.decode(ENC).split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    k = len(outs)
    if args.utt2spk is None:
        n = len(raw)
        if k > n:
            raise ToolError(
                f"{src}: {n} line(s) cannot be split into {k} non-empty parts"
            )
        base, extra = divmod(n, k)
        bounds, pos = [], 0
        for i in range(k):
            size = base + (1 if i < extra else 0)
            bounds.append((pos, pos + size))
            pos += size
    else:
        u2s = {ln.key: utt_speaker(ln) for ln in Table.read(args.utt2spk).lines}
        groups: List[Tuple[str, int, int]] = []  # speaker, first line, end line
        seen: Dict[str, int] = {}
        for i, line in enumerate(raw):
            key = WS.split(line.strip(" \t\r"), 1)[0] if line.strip(" \t\r") else ""
            if not key:
                raise ToolError(f"{src}:{i + 1}: line has no key")
            if key not in u2s:
                raise ToolError(
                    f"{src}:{i + 1}: utterance '{show(key)}' is not in {args.utt2spk}"
                )
            spk = u2s[key]
            if groups and groups[-1][0] == spk:
                groups[-1] = (spk, groups[-1][1], i + 1)
                continue
            if spk in seen:
                raise ToolError(
                    f"{src}:{i + 1}: lines of speaker '{show(spk)}' are not contiguous (also line "
                    f"{seen[spk]}); sort the scp so each speaker's utterances are together"
                )
            seen[spk] = i + 1
            groups.append((spk, i, i + 1))
        m = len(groups)
        if k > m:
            raise ToolError(
                f"{src}: {m} speaker(s) cannot be split into {k} non-empty parts"
            )
        cum = [0]
        for _, a, b in groups:
            cum.append(cum[-1] + (b - a))
        n = cum[-1]
        cuts = [0]
        for j in range(1, k):
            lo, hi = cuts[-1] + 1, m - (k - j)
            target = j * n / k
            best = min(range(lo, hi + 1), key=lambda c: (abs(cum[c] - target), c))
            cuts.append(best)
        cuts.append(m)
        bounds = [(groups[cuts[j]][1], groups[cuts[j + 1] - 1][2]) for j in range(k)]
    for out, (a, b) in zip(outs, bounds):
        parent = os.path.dirname(out)
        if parent:
            os.makedirs(parent, exist_ok=True)
        write_lines(out, raw[a:b])
    return 0


def filter_scp(args: argparse.Namespace) -> int:
    ids = set(read_id_list(args.idlist))
    col = args.field - 1
    if col < 0:
        raise ToolError(f"-f must be >= 1, got {args.field}")
    data = sys.stdin.buffer.read() if args.scp in (None, "-") else open_bytes(args.scp)
    lines = data.decode(ENC).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = sys.stdout.buffer
    for line in lines:
        f = fields(line.strip(" \t\r"))
        hit = len(f) > col and f[col] in ids
        if hit != args.exclude:
            out.write((line + "\n").encode(ENC))
    out.flush()
    return 0


def _input_table(path: Optional[str], name: str) -> Table:
    if path in (None, "-"):
        return Table.parse(sys.stdin.buffer.read(), name, "<stdin>")
    return Table.read(path, name)


def _check_pairs(t: Table, what: str) -> None:
    if t.malformed:
        n, msg = t.malformed[0]
        raise ToolError(f"{t.path}:{n}: {msg}")
    for ln in t.lines:
        f = fields(ln.value)
        if what == "utt2spk" and len(f) != 1:
            raise ToolError(f"{t.path}:{ln.lineno}: expected '<utterance> <speaker>'")
        if what == "spk2utt" and not f:
            raise ToolError(
                f"{t.path}:{ln.lineno}: speaker '{show(ln.key)}' has no utterances"
            )


def utt2spk_to_spk2utt(args: argparse.Namespace) -> int:
    t = _input_table(args.file, "utt2spk")
    _check_pairs(t, "utt2spk")
    sys.stdout.buffer.write(lines_bytes(make_spk2utt(t.lines)))
    return 0


def spk2utt_to_utt2spk(args: argparse.Namespace) -> int:
    t = _input_table(args.file, "spk2utt")
    _check_pairs(t, "spk2utt")
    pairs: List[Tuple[str, str, int]] = []
    seen: Dict[str, int] = {}
    for ln in t.lines:
        for utt in fields(ln.value):
            if utt in seen:
                raise ToolError(
                    f"{t.path}:{ln.lineno}: utterance '{show(utt)}' also on line {seen[utt]}"
                )
            seen[utt] = ln.lineno
            pairs.append((utt, ln.key, ln.lineno))
    sys.stdout.buffer.write(lines_bytes(f"{u} {s}" for u, s, _ in sorted(pairs)))
    return 0
