"""Data-test fixtures: real media written and decoded, a tiny synthetic corpus."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from msrs.data import video_io
from msrs.data.lrs3 import Transcript, format_transcript

#: a micro corpus: 2 train speakers (1 pretrain clip of 2 sentences + 2 trainval
#: clips each), 1 test speaker with 2 clips, 3 s of babble
MICRO = dict(
    num_train_speakers=2,
    num_test_speakers=1,
    trainval_per_speaker=2,
    pretrain_per_speaker=1,
    pretrain_sentences=(2, 2),
    test_per_speaker=2,
    babble_seconds=3.0,
    babble_talkers=3,
)


def face_clip(num_frames: int = 30, seed: int = 0, size: int = 192):
    """Frames of the astronaut photo with an animated mouth, and the true keypoints."""
    from msrs.data.synth.face import FaceRenderer, SpeakerLook
    from msrs.data.synth.visemes import VISEMES

    names = ["SIL", "PP", "AA", "EE", "OU", "AA", "SS", "OH", "SIL"]
    params = np.array(
        [VISEMES[names[(t // 3) % len(names)]] for t in range(num_frames)], np.float32
    )
    look = SpeakerLook(noise_sigma=1.5)
    return FaceRenderer(look, size).render(params, np.random.default_rng(seed))


def tone(num_frames: int, freq: float = 220.0) -> np.ndarray:
    t = np.arange(num_frames * 640) / 16000.0
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_clip(
    root: Path,
    split: str,
    spk: str,
    clip: str,
    frames: np.ndarray,
    audio,
    text: str,
    words=None,
) -> Path:
    """An LRS3-layout clip: ``<root>/<split>/<spk>/<clip>.mp4`` + ``.txt``."""
    mp4 = Path(root) / split / spk / f"{clip}.mp4"
    video_io.encode_video(mp4, frames, 25, audio, 16000, crf=18, preset="ultrafast")
    mp4.with_suffix(".txt").write_text(
        format_transcript(Transcript(text, "4", words or []))
    )
    return mp4


@pytest.fixture(scope="session")
def media():
    """Helpers writing real media: ``face_clip``, ``tone``, ``write_clip``."""
    return SimpleNamespace(face_clip=face_clip, tone=tone, write_clip=write_clip)


@pytest.fixture(scope="session")
def micro_config():
    """Settings of :func:`micro_corpus`."""
    from msrs.data.synth.corpus import CorpusConfig

    return CorpusConfig(**MICRO)


@pytest.fixture(scope="session")
def astronaut_clip():
    """(frames (T,192,192,3) uint8, keypoints (T,4,2)) of the real face photo."""
    return face_clip(30)


@pytest.fixture(scope="session")
def micro_corpus(tmp_path_factory) -> Path:
    """A synthetic LRS3-layout corpus generated once per session (nj=1)."""
    from msrs.data.synth.corpus import CorpusConfig, generate_corpus

    out = tmp_path_factory.mktemp("corpus") / "micro"
    generate_corpus(out, CorpusConfig(**MICRO), nj=1, progress=False)
    return out
