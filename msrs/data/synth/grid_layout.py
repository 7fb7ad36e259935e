"""Writing a synthetic clip in the GRID corpus' layout (``CorpusConfig.layout="grid"``).

::

    out/s<N>/<id>.mpg                 MPEG-1 video (25 fps) + MP2 audio (44.1 kHz mono),
                                      the codecs of GRID's ``.mpg`` files
    out/alignments/s<N>/<id>.align    ``start end word`` in 1/1000 frame, ``sil`` around

as in the Zenodo release of GRID (``s<N>.zip`` videos, ``alignments.zip``).
Speaker ids are ``s1``, ``s2``, ... skipping ``s21`` (no video in GRID); the
file name is the sentence code of the six words (:func:`grid_clip_id`), so a
speaker never says the same sentence twice.
"""

import os
from fractions import Fraction
from pathlib import Path
from typing import List, Sequence

import numpy as np

from msrs.data.grid import ALIGN_UNITS_PER_SECOND, NO_VIDEO_SPEAKERS, SLOTS
from msrs.data.lrs3 import Word

GRID_AUDIO_RATE = 44100
GRID_VIDEO_BITRATE = 1_500_000


def grid_speaker_ids(count: int) -> List[str]:
    """``s1``, ``s2``, ... (``count`` of them), without the speakers GRID lacks."""
    out, k = [], 1
    while len(out) < count:
        if f"s{k}" not in NO_VIDEO_SPEAKERS:
            out.append(f"s{k}")
        k += 1
    return out


def grid_clip_id(words: Sequence[str]) -> str:
    """Sentence code of six GRID words (``BIN BLUE AT F TWO NOW`` -> ``bbaf2n``).

    Raises:
        ValueError: not six words in GRID's slots.
    """
    if len(words) != len(SLOTS):
        raise ValueError(f"a GRID sentence has {len(SLOTS)} words: {' '.join(words)}")
    code = []
    for w, slot in zip(words, SLOTS):
        inverse = {v: k for k, v in slot.items()}
        if w not in inverse:
            raise ValueError(f"{w!r} is not a GRID word of its slot ({' '.join(words)})")
        code.append(inverse[w])
    return "".join(code)


def format_align(words: Sequence[Word], duration: float) -> str:
    """GRID ``.align`` text: ``sil`` before, between (as gaps) and after the words."""
    units = lambda t: int(round(t * ALIGN_UNITS_PER_SECOND))  # noqa: E731
    lines, t = [], 0
    for w in words:
        s, e = units(w.start), units(w.end)
        if s > t:
            lines.append(f"{t} {s} sil" if not lines else f"{t} {s} sp")
        lines.append(f"{max(s, t)} {max(e, s, t)} {w.word.lower()}")
        t = max(e, s, t)
    end = units(duration)
    if end > t:
        lines.append(f"{t} {end} sil")
    return "".join(line + "\n" for line in lines)


def write_mpg(path: Path, frames: np.ndarray, fps: int, audio: np.ndarray, sample_rate: int) -> None:
    """MPEG-1 video + MP2 mono audio in an MPEG program stream, atomically.

    Args:
        frames: ``uint8 (T, H, W, 3)`` RGB (H, W even).
        audio: ``float32 (S,)`` in [-1, 1] at ``sample_rate``; resampled to 44.1 kHz.
    """
    import av
    from scipy.signal import resample_poly

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.mpg")
    pcm = resample_poly(audio.astype(np.float64), GRID_AUDIO_RATE // 100, sample_rate // 100)
    pcm16 = (np.clip(pcm, -1, 1) * 32767).astype(np.int16)[None, :]
    with av.open(str(tmp), mode="w", format="mpeg") as c:
        vs = c.add_stream("mpeg1video", rate=fps)
        vs.width, vs.height = frames.shape[2], frames.shape[1]
        vs.pix_fmt = "yuv420p"
        vs.bit_rate = GRID_VIDEO_BITRATE
        vs.thread_count = 1
        astream = c.add_stream("mp2", rate=GRID_AUDIO_RATE, layout="mono")
        for img in frames:
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(packet)
        for packet in vs.encode():
            c.mux(packet)
        aframe = av.AudioFrame.from_ndarray(pcm16, format="s16", layout="mono")
        aframe.sample_rate = GRID_AUDIO_RATE
        aframe.time_base = Fraction(1, GRID_AUDIO_RATE)
        aframe.pts = 0
        for packet in astream.encode(aframe):
            c.mux(packet)
        for packet in astream.encode():
            c.mux(packet)
    os.replace(tmp, path)


def write_grid_clip(
    out: Path, speaker: str, clip: str, words: Sequence[Word], frames: np.ndarray,
    audio: np.ndarray, fps: int, sample_rate: int,
) -> None:  # fmt: skip
    """Write ``out/<speaker>/<clip>.mpg`` and ``out/alignments/<speaker>/<clip>.align``.

    Args:
        words: the spoken words with their times (seconds).
        frames: ``uint8 (T, H, W, 3)`` at ``fps``.
        audio: ``float32 (S,)`` at ``sample_rate``.
    """
    write_mpg(out / speaker / f"{clip}.mpg", frames, fps, audio, sample_rate)
    align = out / "alignments" / speaker / f"{clip}.align"
    align.parent.mkdir(parents=True, exist_ok=True)
    tmp = align.with_name(align.name + ".partial")
    tmp.write_text(format_align(words, len(frames) / fps))
    os.replace(tmp, align)
    return clip
