"""Kaldi-style data directories (see docs/architecture.md, "Data directories").

Every file is ``<key> <value>`` per line, sorted by key in byte order
(``LC_ALL=C sort``); keys never contain white space.  :class:`DataDir` loads
the files a directory has; writers sort and write atomically.
"""

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

PathLike = Union[str, Path]


class DataDirError(ValueError):
    """A data-directory file is missing or malformed."""


def read_kv(path: PathLike, required: bool = True) -> Dict[str, str]:
    """Read ``<key> <value>`` lines (value may contain spaces or be empty).

    Raises:
        DataDirError: missing file (when ``required``), duplicate key.
    """
    path = Path(path)
    if not path.exists():
        if required:
            raise DataDirError(f"{path}: file not found")
        return {}
    out: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            key, _, value = line.partition(" ")
            if key in out:
                raise DataDirError(f"{path}:{n}: duplicate key {key!r}")
            out[key] = value.strip()
    return out


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write text to ``path`` via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def sort_key(key: str) -> bytes:
    """Byte-order sort key, as ``LC_ALL=C sort``."""
    return key.encode("utf-8")


def write_kv(
    path: PathLike, items: Union[Mapping[str, object], Iterable[Tuple[str, object]]]
) -> None:
    """Write ``<key> <value>`` lines sorted by key in byte order, atomically."""
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    for key, _ in pairs:
        if not key or any(c.isspace() for c in key):
            raise DataDirError(
                f"{path}: invalid key {key!r} (empty or containing white space)"
            )
    pairs.sort(key=lambda kv: sort_key(kv[0]))
    lines = [f"{k} {v}".rstrip() for k, v in pairs]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def spk2utt(utt2spk: Mapping[str, str]) -> Dict[str, str]:
    """Invert ``utt2spk`` into ``spk -> "utt1 utt2 ..."`` (utterances in byte order)."""
    out: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk, key=sort_key):
        out.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in out.items()}


@dataclass
class Segment:
    """``segments`` entry: utterance ``utt`` is ``[start, end)`` seconds of ``rec``."""

    rec: str
    start: float
    end: Optional[float]


@dataclass
class DataDir:
    """In-memory data directory (stage-1 ``data/<set>`` or stage-2 ``dump/<set>``).

    Attributes:
        text: utt -> normalised transcript.
        utt2spk: utt -> speaker.
        video: key -> path (rec for data dirs, utt for dumps).
        wav: key -> path.
        segments: utt -> :class:`Segment`; empty means utt == rec.
        utt2dur: utt -> seconds (optional).
        utt2num_frames: utt -> frames (optional, dumps).
    """

    text: Dict[str, str] = field(default_factory=dict)
    utt2spk: Dict[str, str] = field(default_factory=dict)
    video: Dict[str, str] = field(default_factory=dict)
    wav: Dict[str, str] = field(default_factory=dict)
    segments: Dict[str, Segment] = field(default_factory=dict)
    utt2dur: Dict[str, float] = field(default_factory=dict)
    utt2num_frames: Dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: PathLike) -> "DataDir":
        """Load a directory (``text`` and ``utt2spk`` required, the rest optional)."""
        path = Path(path)
        if not path.is_dir():
            raise DataDirError(f"{path}: data directory not found")
        d = cls(
            text=read_kv(path / "text"),
            utt2spk=read_kv(path / "utt2spk"),
            video=read_kv(path / "video.scp", required=False),
            wav=read_kv(path / "wav.scp", required=False),
        )
        for utt, value in read_kv(path / "segments", required=False).items():
            parts = value.split()
            if len(parts) != 3:
                raise DataDirError(
                    f"{path / 'segments'}: {utt}: expected '<rec> <start> <end>'"
                )
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                raise DataDirError(
                    f"{path / 'segments'}: {utt}: non-numeric time"
                ) from None
            d.segments[utt] = Segment(parts[0], start, None if end < 0 else end)
        for name, conv, target in (
            ("utt2dur", float, d.utt2dur),
            ("utt2num_frames", int, d.utt2num_frames),
        ):
            for utt, value in read_kv(path / name, required=False).items():
                try:
                    target[utt] = conv(value)
                except ValueError:
                    raise DataDirError(
                        f"{path / name}: {utt}: bad value {value!r}"
                    ) from None
        missing = sorted(set(d.text) ^ set(d.utt2spk))
        if missing:
            raise DataDirError(
                f"{path}: text and utt2spk disagree on {len(missing)} utterances, "
                f"e.g. {missing[0]}"
            )
        return d

    def utterances(self) -> List[str]:
        """Utterance ids in byte order."""
        return sorted(self.text, key=sort_key)

    def recording(self, utt: str) -> Segment:
        """Recording and time span of ``utt`` (the whole recording without segments)."""
        if self.segments:
            if utt not in self.segments:
                raise DataDirError(f"utterance {utt} has no entry in segments")
            return self.segments[utt]
        return Segment(utt, 0.0, None)

    def save(self, path: PathLike) -> None:
        """Write all non-empty maps (plus ``spk2utt``) into ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_kv(path / "text", self.text)
        write_kv(path / "utt2spk", self.utt2spk)
        write_kv(path / "spk2utt", spk2utt(self.utt2spk))
        if self.video:
            write_kv(path / "video.scp", self.video)
        if self.wav:
            write_kv(path / "wav.scp", self.wav)
        if self.segments:
            write_kv(
                path / "segments",
                {
                    u: f"{s.rec} {s.start:.3f} {s.end if s.end is not None else -1:.3f}"
                    for u, s in self.segments.items()
                },
            )
        else:
            (path / "segments").unlink(missing_ok=True)
        if self.utt2dur:
            write_kv(path / "utt2dur", {u: f"{v:.2f}" for u, v in self.utt2dur.items()})
        if self.utt2num_frames:
            write_kv(path / "utt2num_frames", self.utt2num_frames)

    def subset(self, utts: Iterable[str]) -> "DataDir":
        """A new DataDir restricted to ``utts`` (recordings kept if referenced)."""
        keep = set(utts)
        seg = {u: s for u, s in self.segments.items() if u in keep}
        recs = {s.rec for s in seg.values()} if self.segments else keep
        return DataDir(
            text={u: t for u, t in self.text.items() if u in keep},
            utt2spk={u: s for u, s in self.utt2spk.items() if u in keep},
            video={k: v for k, v in self.video.items() if k in recs},
            wav={k: v for k, v in self.wav.items() if k in recs},
            segments=seg,
            utt2dur={u: v for u, v in self.utt2dur.items() if u in keep},
            utt2num_frames={u: v for u, v in self.utt2num_frames.items() if u in keep},
        )


def sha1_sample(keys: Iterable[str], count: int) -> List[str]:
    """The ``count`` keys with the smallest SHA-1 (never all of them).

    A held-out set that is fixed, independent of the order of the files and
    uniform over the keys (validation/test shares of the GRID and own-corpus
    preparations).
    """
    keys = sorted(set(keys))
    if count <= 0 or len(keys) < 2:
        return []
    order = sorted(keys, key=lambda k: hashlib.sha1(k.encode()).hexdigest())
    return order[: min(count, len(keys) - 1)]


def save_sets(
    out: PathLike, dirs: Mapping[str, "DataDir"], failures: Mapping[str, Mapping[str, str]]
) -> Dict[str, int]:
    """Write ``out/<set>/`` and its ``failures.txt`` (``<utt> <reason>``) per set.

    Returns:
        utterances per set and ``failed_clips`` (all sets).
    """
    out = Path(out)
    counts: Dict[str, int] = {}
    for name, d in dirs.items():
        d.save(out / name)
        write_kv(out / name / "failures.txt", failures.get(name, {}))
        counts[name] = len(d.text)
        if not d.text:
            logging.getLogger(__name__).warning("%s: set %s is empty", out / name, name)
    counts["failed_clips"] = sum(len(f) for f in failures.values())
    return counts
