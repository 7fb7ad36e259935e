"""Reading and writing Kaldi-style data files (shared by the data-dir tools).

Python 3 standard library only.  See ``msrs_datadir.py`` for the tools and the
file kinds.  Files are read as bytes decoded as latin-1 (a 1:1 byte mapping),
so keys compare in ``LC_ALL=C`` byte order and any encoding survives
unchanged; fields are separated by spaces or tabs; every write is atomic.
"""

from __future__ import annotations

import collections
import math
import os
import re
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

ENC = "latin-1"
RECORDING_SCPS = ("video.scp", "wav.scp")
WS = re.compile(r"[ \t]+")
_LINE = re.compile(r"^([^ \t]+)(?:[ \t]+(.*?))?[ \t]*$")


class ToolError(Exception):
    """An error that ends the tool with a message (exit status 1)."""


def show(s: str, limit: int = 60) -> str:
    """A key or value for messages: decoded as UTF-8 where possible, shortened."""
    text = s.encode(ENC).decode("utf-8", "replace")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fields(value: str) -> List[str]:
    return WS.split(value) if value else []


class Line:
    """One parsed line of a data file.

    Attributes:
        key: the first field.
        value: the rest of the line (separator and trailing blanks removed).
        text: the whole line without newline or carriage return.
        lineno: 1-based line number in the file.
    """

    __slots__ = ("key", "value", "text", "lineno")

    def __init__(self, key: str, value: str, text: str, lineno: int) -> None:
        self.key = key
        self.value = value
        self.text = text
        self.lineno = lineno

    def rekeyed(self, key: str, value: Optional[str] = None) -> "Line":
        """A copy with another key (and optionally another value)."""
        if value is None:
            text = key + self.text[len(self.key) :]
            return Line(key, self.value, text, self.lineno)
        return Line(key, value, f"{key} {value}" if value else key, self.lineno)


class Table:
    """A data file: its parsed lines and the lines that could not be parsed.

    Attributes:
        name: file name (``text``, ``wav.scp``, ...).
        path: path of the file.
        lines: parsed lines in file order.
        malformed: ``(lineno, problem)`` for lines that have no key.
        dos: line numbers that ended with a carriage return.
    """

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.lines: List[Line] = []
        self.malformed: List[Tuple[int, str]] = []
        self.dos: List[int] = []

    @classmethod
    def read(cls, path: str, name: Optional[str] = None) -> "Table":
        """Reads and parses a file (``name`` defaults to its base name)."""
        return cls.parse(open_bytes(path), name or os.path.basename(path), path)

    @classmethod
    def parse(cls, data: bytes, name: str, path: str) -> "Table":
        """Parses file content ``data``; ``path`` is used in messages."""
        table = cls(name, path)
        raw_lines = data.decode(ENC).split("\n")
        if raw_lines and raw_lines[-1] == "":
            raw_lines.pop()
        for n, raw in enumerate(raw_lines, 1):
            if raw.endswith("\r"):
                table.dos.append(n)
                raw = raw.rstrip("\r")
            if raw.strip(" \t") == "":
                table.malformed.append((n, "empty line"))
                continue
            if raw[0] in " \t":
                table.malformed.append((n, "line starts with a blank"))
                continue
            m = _LINE.match(raw)
            assert m is not None
            key, value = m.group(1), m.group(2) or ""
            table.lines.append(Line(key, value, raw.rstrip(" \t"), n))
        return table

    def keys(self) -> List[str]:
        return [ln.key for ln in self.lines]


def write_lines(path: str, lines: Iterable[str]) -> None:
    """Writes lines atomically (temporary file in the same directory, then rename)."""
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            for line in lines:
                f.write((line + "\n").encode(ENC))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def file_bytes(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def lines_bytes(lines: Iterable[str]) -> bytes:
    return b"".join((ln + "\n").encode(ENC) for ln in lines)


def file_kind(name: str, has_segments: bool) -> Optional[str]:
    """``utt``, ``reco``, ``spk``, ``spk2utt`` or None (not a data file)."""
    if name == "spk2utt":
        return "spk2utt"
    if name in RECORDING_SCPS or name.startswith("reco2"):
        return "reco" if has_segments else "utt"
    if name in ("text", "segments") or name.startswith("utt2") or name.endswith(".scp"):
        return "utt"
    if name.startswith("spk2"):
        return "spk"
    return None


def list_dir(path: str) -> Tuple[List[str], List[str]]:
    """Data files and other regular files of a directory (hidden files skipped)."""
    if not os.path.isdir(path):
        raise ToolError(f"{path}: no such directory")
    names = sorted(n for n in os.listdir(path) if not n.startswith("."))
    names = [n for n in names if os.path.isfile(os.path.join(path, n))]
    has_segments = "segments" in names
    data = [n for n in names if file_kind(n, has_segments) is not None]
    other = [n for n in names if file_kind(n, has_segments) is None]
    return data, other


def check_value(name: str, line: Line) -> Optional[str]:
    """The problem with a line's value for file ``name``, or None."""
    key, value = show(line.key), line.value
    f = fields(value)
    if name == "text":
        return None if value else f"empty transcript for utterance '{key}'"
    if name == "utt2spk":
        return (
            None
            if len(f) == 1
            else f"expected '<utterance> <speaker>', got {len(f) + 1} fields"
        )
    if name == "spk2utt":
        return None if f else f"speaker '{key}' has no utterances"
    if name == "segments":
        if len(f) != 3:
            return f"expected '<utterance> <recording> <start> <end>', got {len(f) + 1} fields"
        try:
            start, end = float(f[1]), float(f[2])
        except ValueError:
            return f"non-numeric start/end time '{show(f[1])} {show(f[2])}'"
        if (
            not (math.isfinite(start) and math.isfinite(end))
            or start < 0
            or end <= start
        ):
            return f"bad times: start {f[1]}, end {f[2]} (need 0 <= start < end)"
        return None
    if name in ("utt2dur", "reco2dur"):
        if len(f) != 1:
            return f"expected '<id> <seconds>', got {len(f) + 1} fields"
        try:
            dur = float(f[0])
        except ValueError:
            return f"non-numeric duration '{show(f[0])}'"
        return (
            None
            if math.isfinite(dur) and dur > 0
            else f"duration must be > 0, got {f[0]}"
        )
    if name in ("utt2num_frames", "utt2num_samples"):
        if len(f) != 1 or not f[0].isdigit() or int(f[0]) <= 0:
            return f"expected a positive integer, got '{show(value)}'"
        return None
    return None if value else f"no value for '{key}'"


def is_c_sorted(keys: Sequence[str]) -> Optional[int]:
    """Index of the first key that is smaller than its predecessor, or None."""
    for i in range(1, len(keys)):
        if keys[i] < keys[i - 1]:
            return i
    return None


def make_spk2utt(utt2spk: Sequence[Line]) -> List[str]:
    """spk2utt lines (sorted by speaker, utterances in utt2spk order)."""
    groups: Dict[str, List[str]] = collections.OrderedDict()
    for ln in utt2spk:
        spk = fields(ln.value)[0] if ln.value else ""
        groups.setdefault(spk, []).append(ln.key)
    return [f"{spk} {' '.join(utts)}" for spk, utts in sorted(groups.items())]


def utt_speaker(line: Line) -> str:
    return fields(line.value)[0] if line.value else ""


def open_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ToolError(f"cannot read {path}: {e.strerror}")


def read_id_list(path: str) -> List[str]:
    """First fields of the lines of a file (an id list)."""
    t = Table.read(path)
    return [ln.key for ln in t.lines]
