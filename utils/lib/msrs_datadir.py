#!/usr/bin/env python3
"""Kaldi-style data-directory tools for msrs recipes (Python 3 standard library only).

Run through the wrappers in ``utils/`` (``validate_data_dir.sh``,
``fix_data_dir.sh``, ``subset_data_dir.sh``, ``combine_data.sh``,
``copy_data_dir.sh``, ``split_scp.sh``, ``filter_scp.sh``,
``utt2spk_to_spk2utt.sh``, ``spk2utt_to_utt2spk.sh``); the first argument of
this module is the tool name.

Data directory files (docs/architecture.md) and how the tools key them:

* per utterance: ``text``, ``utt2spk``, ``segments``, every ``utt2*`` file
  (``utt2dur``, ``utt2num_frames``, ...) and every ``*.scp`` other than
  ``video.scp``/``wav.scp``;
* per recording: ``video.scp``, ``wav.scp`` and ``reco2*`` files when
  ``segments`` exists; without ``segments`` they are per utterance
  (recording id == utterance id);
* per speaker: ``spk2utt`` (always regenerated from ``utt2spk`` when a tool
  writes a directory) and other ``spk2*`` files (``spk2gender``).

Other regular files (``feats_type``, ``failures.txt``, ...) are not data
files: validate/fix ignore them, subset/copy copy them unchanged, combine
copies one only if it is identical in every source.

Files are read as bytes (decoded as latin-1, which maps bytes 1:1), so keys
compare in ``LC_ALL=C`` byte order and any encoding survives unchanged.  Fields
are separated by spaces or tabs.  Every written file is sorted by key and
replaced atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Sequence, Tuple

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from msrs_datafiles import ToolError  # noqa: E402
from msrs_dirs import combine, copy, subset  # noqa: E402
from msrs_fix import fix  # noqa: E402
from msrs_scp import (  # noqa: E402
    filter_scp,
    spk2utt_to_utt2spk,
    split_scp,
    utt2spk_to_spk2utt,
)
from msrs_validate import validate  # noqa: E402


def _add(p: argparse.ArgumentParser, *names: str, **kw) -> None:
    """Adds an option under its dash and underscore spellings."""
    spellings: List[str] = []
    for name in names:
        spellings.append(name)
        alt = "--" + name[2:].replace("-", "_") if name.startswith("--") else name
        if alt not in spellings:
            spellings.append(alt)
    p.add_argument(*spellings, **kw)


def build_parser(tool: str) -> Tuple[argparse.ArgumentParser, object]:
    fmt = argparse.RawDescriptionHelpFormatter
    if tool == "validate_data_dir.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Checks a data directory and prints each problem as FILE:LINE: message.\n"
            "Checks: every file sorted (LC_ALL=C) with unique keys and no DOS line ends;\n"
            "the same utterances in every per-utterance file; spk2utt consistent with\n"
            "utt2spk; segments' recordings present in video.scp/wav.scp/reco2*; non-empty\n"
            "transcripts; numeric positive durations/frame counts; sane segment times.\n"
            "Required files: utt2spk, spk2utt, text, video.scp, wav.scp (see --no-*).\n"
            "Optional files that exist are always checked.  Warnings (unused recordings,\n"
            "speakers not contiguous in utterance order) do not fail.\n"
            "Exit status 0 when no problem was found, 1 otherwise.",
        )
        _add(p, "--no-text", action="store_true", help="text is not required")
        _add(p, "--no-video", action="store_true", help="video.scp is not required")
        _add(p, "--no-wav", action="store_true", help="wav.scp is not required")
        _add(
            p,
            "--max-messages",
            type=int,
            default=20,
            metavar="N",
            help="print at most N messages of each kind per file (0: all; default 20)",
        )
        p.add_argument("dir", help="data directory")
        return p, validate
    if tool == "fix_data_dir.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Repairs a data directory in place: sorts every data file (LC_ALL=C),\n"
            "drops malformed lines and exact duplicate lines, keeps only utterances that\n"
            "have a valid line in every per-utterance file (non-empty text, positive\n"
            "durations, ...) and, with segments, whose recording exists in every\n"
            "recording file; drops unused recordings and unknown speakers; regenerates\n"
            "spk2utt from utt2spk.  Each file that changes is first copied to\n"
            "DIR/.backup/FILE (or FILE.2, FILE.3, ... if an older backup exists).\n"
            "Prints how many utterances were removed and why.  Needs DIR/utt2spk.",
        )
        p.add_argument("dir", help="data directory")
        return p, fix
    if tool == "subset_data_dir.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Writes DEST with a subset of the utterances of SRC; every data file\n"
            "(segments, scps, text, utt2*, spk2*, reco2*) is filtered consistently,\n"
            "recordings and speakers no longer used are dropped, spk2utt is regenerated.\n"
            "Other files are copied.  --first/--last/--random count utterances in sorted\n"
            "order (utt2spk, else text).  Give exactly one selection option.",
        )
        _add(
            p,
            "--utt-list",
            metavar="FILE",
            help="keep the utterances whose ids are the first field of FILE",
        )
        _add(
            p,
            "--spk-list",
            metavar="FILE",
            help="keep the utterances of the speakers listed in FILE",
        )
        _add(p, "--first", type=int, metavar="N", help="keep the first N utterances")
        _add(p, "--last", type=int, metavar="N", help="keep the last N utterances")
        _add(
            p,
            "--random",
            type=int,
            metavar="N",
            help="keep N utterances chosen at random",
        )
        _add(
            p,
            "--seed",
            type=int,
            default=0,
            metavar="S",
            help="random seed for --random (default 0)",
        )
        p.add_argument("src")
        p.add_argument("dest")
        return p, subset
    if tool == "copy_data_dir.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Copies data directory SRC to DEST, optionally renaming utterances and\n"
            "speakers (prefix/suffix) in every file.  With segments, recording ids are\n"
            "kept; without, video.scp/wav.scp/reco2* are keyed by utterance and renamed.\n"
            "spk2utt is regenerated; other files are copied unchanged.",
        )
        _add(p, "--utt-prefix", default="", metavar="P")
        _add(p, "--utt-suffix", default="", metavar="S")
        _add(p, "--spk-prefix", default="", metavar="P")
        _add(p, "--spk-suffix", default="", metavar="S")
        p.add_argument("src")
        p.add_argument("dest")
        return p, copy
    if tool == "combine_data.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Writes DEST with the union of the source data directories (sorted).\n"
            "A duplicate utterance id is an error naming it (and its files/lines);\n"
            "recordings and speakers shared by sources must have identical lines.  A\n"
            "data file missing from some sources is not written (warning).  If only some\n"
            "sources have segments, the others get '<utt> <utt> 0 <utt2dur>' segments.\n"
            "spk2utt is regenerated.",
        )
        p.add_argument("dest")
        p.add_argument("srcs", nargs="+", metavar="src")
        return p, combine
    if tool == "split_scp.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Splits an scp (or any line file) into contiguous parts of balanced size:\n"
            "part sizes differ by at most one line.  With --utt2spk, each speaker's lines go\n"
            "to one part (they must be contiguous) and the parts are balanced in lines as\n"
            "well as whole speakers allow.  It is an error to ask for more parts than lines\n"
            "(or speakers).",
        )
        _add(
            p,
            "--utt2spk",
            metavar="FILE",
            help="keep each speaker's lines in one output",
        )
        p.add_argument("scp", help="input file ('-' for stdin)")
        p.add_argument("outputs", nargs="+", metavar="out")
        return p, split_scp
    if tool == "filter_scp.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            formatter_class=fmt,
            allow_abbrev=False,
            description="Prints the lines of IN.scp (stdin if absent or '-') whose first field\n"
            "(or field N with -f N) is among the first fields of IDLIST, in input order.",
        )
        p.add_argument(
            "--exclude",
            action="store_true",
            help="print the lines that are NOT in IDLIST",
        )
        p.add_argument(
            "-f",
            "--field",
            type=int,
            default=1,
            metavar="N",
            help="field to match (default 1)",
        )
        p.add_argument("idlist")
        p.add_argument("scp", nargs="?")
        return p, filter_scp
    if tool == "utt2spk_to_spk2utt.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            allow_abbrev=False,
            description="Prints spk2utt for a utt2spk file (stdin if absent), speakers sorted "
            "(LC_ALL=C), utterances in input order.",
        )
        p.add_argument("file", nargs="?")
        return p, utt2spk_to_spk2utt
    if tool == "spk2utt_to_utt2spk.sh":
        p = argparse.ArgumentParser(
            prog=tool,
            allow_abbrev=False,
            description="Prints utt2spk for a spk2utt file (stdin if absent), sorted by utterance (LC_ALL=C).",
        )
        p.add_argument("file", nargs="?")
        return p, spk2utt_to_utt2spk
    raise ToolError(f"unknown tool '{tool}'")


def _join_option_values(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> List[str]:
    """Turns ``--opt VALUE`` into ``--opt=VALUE`` so a VALUE may start with '-'."""
    takes_value = {
        s
        for a in parser._actions
        if a.nargs is None and a.option_strings and a.const is None
        for s in a.option_strings
        if s.startswith("--")
    }
    out: List[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--":
            out.extend(argv[i:])
            break
        if argv[i] in takes_value and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(
            "usage: msrs_datadir.py TOOL [args...] (use the wrappers in utils/)",
            file=sys.stderr,
        )
        return 1
    tool = argv[0]
    try:
        parser, func = build_parser(tool)
        args = parser.parse_args(_join_option_values(parser, argv[1:]))
        return func(args)  # type: ignore[operator]
    except ToolError as e:
        print(f"{tool}: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except OSError as e:
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        print(f"{tool}: error:{where} {e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
