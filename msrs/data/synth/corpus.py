"""Synthetic LRS3-layout audio-visual corpus (the embedded default data set).

``generate_corpus(out, config)`` writes::

    out/pretrain/<speaker>/<clip>.mp4 + .txt    multi-sentence clips, ids 00001...
    out/trainval/<speaker>/<clip>.mp4 + .txt    one sentence per clip, ids 50001...
    out/test/<speaker>/<clip>.mp4 + .txt        speaker-disjoint test speakers
    out/landmarks/<split>/<speaker>/<clip>.pkl  true keypoints per frame (optional)
    out/noise/babble.wav                        synthetic babble (optional)
    out/synth_config.json                       the settings (checked on resume)

The mp4 files hold H.264 video (25 fps, RGB faces, ``frame_size`` square) and
AAC audio (16 kHz mono); the ``.txt`` files are in LRS3's format with word
timings taken from espeak-ng's word events.

Speech comes from espeak-ng (see :mod:`.espeak`); each speaker is a voice,
accent variant, rate, pitch and pitch range.  The mouth is animated from the
phoneme timings (:mod:`.visemes`) and composited into a face photo
(:mod:`.face`).

Reproducibility: the whole plan (speakers, sentences, looks) is drawn from
``seed`` up front; each speaker is then generated in a fresh worker process
(espeak-ng keeps state across calls) with single-threaded encoders, so the
output bytes depend only on the seed and settings, not on ``nj`` or the
machine's core count (for a given PyAV/FFmpeg and espeak-ng version).

Resumability: a speaker is marked done (``out/.synth_state/<speaker>.done``)
after all its files are written (each atomically); a rerun skips finished
speakers and regenerates unfinished ones from their start.
"""

import dataclasses
import json
import logging
import multiprocessing
import os
import pickle
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from msrs.data.lrs3 import Transcript, Word, format_transcript
from msrs.data.synth.face import SpeakerLook, sample_look
from msrs.data.synth.grammar import build_grammar
from msrs.data.synth.grid_layout import grid_clip_id, grid_speaker_ids, write_grid_clip

logger = logging.getLogger(__name__)

FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS

ACCENTS = ["en-us", "en", "en-029", "en-gb-x-rp", "en-gb-scotland", "en-us-nyc"]
VARIANTS = [
    "",
    "+m1",
    "+m2",
    "+m3",
    "+m4",
    "+m5",
    "+m6",
    "+m7",
    "+f1",
    "+f2",
    "+f3",
    "+f4",
    "+f5",
]


@dataclass
class CorpusConfig:
    """Size and look of the synthetic corpus; the defaults are the mini corpus.

    Attributes:
        seed: master seed; equal seeds and settings give identical bytes.
        grammar: ``grid`` (GRID-like commands, 51 words) or ``template``
            (read-speech templates, about 400 words).
        num_train_speakers: speakers with ``pretrain/`` and ``trainval/`` clips.
        num_test_speakers: speakers in ``test/`` only (speaker-disjoint).
        trainval_per_speaker: one-sentence clips per train speaker.
        pretrain_per_speaker: multi-sentence clips per train speaker.
        pretrain_sentences: min and max sentences in a pretrain clip.
        test_per_speaker: one-sentence clips per test speaker.
        frame_size: video frame side in pixels (square).
        crf: x264 constant rate factor of the videos.
        preset: x264 preset.
        write_landmarks: also write true keypoints per frame (Auto-AVSR pickle layout).
        babble_seconds: length of ``noise/babble.wav`` (0: none).
        babble_talkers: talkers mixed into the babble.
        layout: ``lrs3`` (the layout above) or ``grid``: GRID's layout
            (``s<N>/<id>.mpg`` + ``alignments/s<N>/<id>.align``, see
            :mod:`.grid_layout`), one sentence per clip, ``trainval_per_speaker``
            clips for each of the ``num_train_speakers + num_test_speakers``
            speakers ``s1, s2, ...`` (no pretrain/test split: egs/grid splits).
        speaker_prefix: letters/digits put before every drawn 11-character
            speaker id (lrs3 layout).  A second test set drawn with another
            seed uses one (``t2``): its ids are longer than the main
            corpus' 11 characters, so they can never collide with them.
    """

    seed: int = 0
    grammar: str = "grid"
    num_train_speakers: int = 16
    num_test_speakers: int = 4
    trainval_per_speaker: int = 24
    pretrain_per_speaker: int = 2
    pretrain_sentences: Tuple[int, int] = (2, 4)
    test_per_speaker: int = 16
    frame_size: int = 192
    crf: int = 20
    preset: str = "veryfast"
    write_landmarks: bool = True
    babble_seconds: float = 30.0
    babble_talkers: int = 6
    layout: str = "lrs3"
    speaker_prefix: str = ""


@dataclass
class Voice:
    """An espeak-ng speaker."""

    name: str
    rate: int
    pitch: int
    pitch_range: int


@dataclass
class UttPlan:
    split: str
    clip: str
    sentences: List[List[str]]


@dataclass
class SpeakerPlan:
    index: int
    speaker: str
    voice: Voice
    look: SpeakerLook
    gain_db: float
    noise_db: float
    utts: List[UttPlan] = field(default_factory=list)


def sample_voice(rng: np.random.Generator) -> Voice:
    """Draw an espeak-ng voice: accent, variant, rate (wpm), pitch, pitch range."""
    return Voice(
        name=ACCENTS[int(rng.integers(len(ACCENTS)))]
        + VARIANTS[int(rng.integers(len(VARIANTS)))],
        rate=int(rng.integers(140, 186)),
        pitch=int(rng.integers(30, 71)),
        pitch_range=int(rng.integers(30, 71)),
    )


def _speaker_id(rng: np.random.Generator, taken: set) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        sid = "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=11))
        if sid not in taken:
            taken.add(sid)
            return sid


def plan_corpus(config: CorpusConfig) -> List[SpeakerPlan]:
    """Draw speakers, voices, looks and sentences for the whole corpus."""
    rng = np.random.default_rng(config.seed)
    grammar = build_grammar(config.grammar)
    lo, hi = config.pretrain_sentences
    if not 1 <= lo <= hi:
        raise ValueError(
            f"pretrain_sentences must satisfy 1 <= min <= max, got {lo},{hi}"
        )
    taken: set = set()
    plans = []
    n_total = config.num_train_speakers + config.num_test_speakers
    if config.layout not in ("lrs3", "grid"):
        raise ValueError(f"layout must be lrs3 or grid, got {config.layout!r}")
    if config.layout == "grid" and config.grammar != "grid":
        raise ValueError("--layout grid needs --grammar grid (file names encode the sentence)")
    if not re.fullmatch(r"[A-Za-z0-9]*", config.speaker_prefix):
        raise ValueError(
            f"speaker_prefix must be letters and digits, got {config.speaker_prefix!r}"
        )
    if config.speaker_prefix and config.layout != "lrs3":
        raise ValueError("speaker_prefix needs the lrs3 layout")
    grid_ids = grid_speaker_ids(n_total)
    for k in range(n_total):
        test = k >= config.num_train_speakers
        plan = SpeakerPlan(
            index=k,
            speaker=(
                config.speaker_prefix + _speaker_id(rng, taken)
                if config.layout == "lrs3"
                else grid_ids[k]
            ),
            voice=sample_voice(rng),
            look=sample_look(rng),
            gain_db=float(rng.uniform(-4, 2)),
            noise_db=float(rng.uniform(-55, -42)),
        )
        if config.layout == "grid":
            said: set = set()
            while len(plan.utts) < config.trainval_per_speaker:
                words = grammar.sample(rng)
                if grid_clip_id(words) not in said:  # GRID: one file per sentence
                    said.add(grid_clip_id(words))
                    plan.utts.append(UttPlan("grid", grid_clip_id(words), [words]))
        elif test:
            for i in range(config.test_per_speaker):
                plan.utts.append(UttPlan("test", f"{i + 1:05d}", [grammar.sample(rng)]))
        else:
            for i in range(config.pretrain_per_speaker):
                n = int(rng.integers(lo, hi + 1))
                plan.utts.append(
                    UttPlan(
                        "pretrain",
                        f"{i + 1:05d}",
                        [grammar.sample(rng) for _ in range(n)],
                    )
                )
            for i in range(config.trainval_per_speaker):
                plan.utts.append(
                    UttPlan("trainval", f"{50001 + i:05d}", [grammar.sample(rng)])
                )
        plans.append(plan)
    return plans


def _resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(src, dst)
    return resample_poly(audio.astype(np.float64), dst // g, src // g).astype(
        np.float32
    )


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _speak_clip(espeak, plan: SpeakerPlan, utt: UttPlan, rng: np.random.Generator):
    """Synthesise a clip: audio at 16 kHz (T*640 samples), words, phonemes, T."""
    pieces, words, phonemes = [], [], []
    t = float(rng.uniform(0.15, 0.45))  # leading silence, s
    pieces.append(np.zeros(int(round(t * SAMPLE_RATE)), np.float32))
    for s_idx, sentence in enumerate(utt.sentences):
        if s_idx:
            gap = float(rng.uniform(0.3, 0.8))
            pieces.append(np.zeros(int(round(gap * SAMPLE_RATE)), np.float32))
            t += gap
        syn = espeak.synthesize(
            sentence,
            plan.voice.name,
            plan.voice.rate,
            plan.voice.pitch,
            plan.voice.pitch_range,
        )
        audio = _resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
        offset = t
        words += [Word(w, offset + a, offset + b) for w, a, b in syn.words]
        phonemes += [(p, offset + a, offset + b) for p, a, b in syn.phonemes]
        pieces.append(audio)
        t += len(audio) / SAMPLE_RATE
    tail = float(rng.uniform(0.15, 0.4))
    pieces.append(np.zeros(int(round(tail * SAMPLE_RATE)), np.float32))
    speech = np.concatenate(pieces)
    num_frames = int(np.ceil(len(speech) / SAMPLES_PER_FRAME))
    speech = np.pad(speech, (0, num_frames * SAMPLES_PER_FRAME - len(speech)))
    rms = float(np.sqrt(np.mean(speech**2)) + 1e-9)
    speech *= 10 ** ((-22.0 + plan.gain_db) / 20) / rms
    speech += rng.normal(0, 10 ** (plan.noise_db / 20), speech.shape).astype(np.float32)
    return np.clip(speech, -1, 1).astype(np.float32), words, phonemes, num_frames


def _generate_speaker(job: Tuple[str, dict, dict]) -> Tuple[str, List[Tuple[str, int]]]:
    """Worker: generate all clips of one speaker (runs in a fresh process)."""
    out_s, cfg_d, plan_d = job
    import cv2

    cv2.setNumThreads(1)  # no-op when preloaded; keeps spawn workers single-threaded
    from msrs.data import video_io
    from msrs.data.synth.espeak import Espeak
    from msrs.data.synth.face import FaceRenderer
    from msrs.data.synth.visemes import viseme_track

    out = Path(out_s)
    config = CorpusConfig(**cfg_d)
    plan = _plan_from_dict(plan_d)
    espeak = Espeak(seed=config.seed)  # a fresh process: the first and only instance
    renderer = FaceRenderer(plan.look, config.frame_size, FPS)
    done = []
    for u_idx, utt in enumerate(plan.utts):
        rng = np.random.default_rng([config.seed, plan.index, u_idx])
        audio, words, phonemes, num_frames = _speak_clip(espeak, plan, utt, rng)
        params = viseme_track(phonemes, num_frames, FPS)
        frames, keypoints = renderer.render(params, rng)
        if config.layout == "grid":
            write_grid_clip(out, plan.speaker, utt.clip, words, frames, audio, FPS, SAMPLE_RATE)
            done.append((f"{plan.speaker}/{utt.clip}", num_frames))
            continue
        d = out / utt.split / plan.speaker
        d.mkdir(parents=True, exist_ok=True)
        mp4 = d / f"{utt.clip}.mp4"
        tmp = d / f"{utt.clip}.partial.mp4"
        video_io.encode_video(
            tmp,
            frames,
            FPS,
            audio,
            SAMPLE_RATE,
            crf=config.crf,
            preset=config.preset,
            threads=1,
        )
        os.replace(tmp, mp4)
        text = " ".join(w for sentence in utt.sentences for w in sentence)
        conf = str(int(rng.integers(3, 7)))
        for w in words:
            w.score = round(float(rng.uniform(3.0, 9.0)), 1)
        _atomic_write_bytes(
            d / f"{utt.clip}.txt",
            format_transcript(Transcript(text, conf, words)).encode(),
        )
        if config.write_landmarks:
            ld = out / "landmarks" / utt.split / plan.speaker
            ld.mkdir(parents=True, exist_ok=True)
            data = pickle.dumps([k.astype(np.float32) for k in keypoints], protocol=4)
            _atomic_write_bytes(ld / f"{utt.clip}.pkl", data)
        done.append((f"{utt.split}/{plan.speaker}/{utt.clip}", num_frames))
    state = out / ".synth_state"
    state.mkdir(exist_ok=True)
    _atomic_write_bytes(state / f"{plan.speaker}.done", json.dumps(done).encode())
    return plan.speaker, done


def _plan_to_dict(plan: SpeakerPlan) -> dict:
    return dataclasses.asdict(plan)


def _plan_from_dict(d: dict) -> SpeakerPlan:
    d = dict(d)
    d["voice"] = Voice(**d["voice"])
    look = dict(d["look"])
    look["offset"] = tuple(look["offset"])
    look["skin_tint"] = tuple(look["skin_tint"])
    look["lip_color"] = tuple(look["lip_color"])
    d["look"] = SpeakerLook(**look)
    d["utts"] = [UttPlan(**u) for u in d["utts"]]
    return SpeakerPlan(**d)


def _context():
    """Workers forked from a clean fork server that preloaded the heavy modules.

    A fresh process per speaker is required for reproducible espeak-ng audio;
    the fork server makes that cheap and avoids forking a threaded parent.
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["msrs.data.synth._preload"])
        return ctx
    return multiprocessing.get_context("spawn")


def _check_config(out: Path, config: CorpusConfig, overwrite: bool) -> None:
    path = out / "synth_config.json"
    wanted = json.loads(json.dumps(dataclasses.asdict(config)))
    if wanted["layout"] == "lrs3":  # corpora written before the option existed
        del wanted["layout"]
    if not wanted["speaker_prefix"]:  # idem
        del wanted["speaker_prefix"]
    if path.exists() and not overwrite:
        have = json.loads(path.read_text())
        if have != wanted:
            diff = sorted(
                k for k in set(have) | set(wanted) if have.get(k) != wanted.get(k)
            )
            raise ValueError(
                f"{out}: holds a corpus generated with other settings "
                f"({', '.join(diff)}); "
                "use another --out or pass --overwrite"
            )
    if overwrite and (out / ".synth_state").exists():
        for p in (out / ".synth_state").glob("*.done"):
            p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(
        path, (json.dumps(wanted, indent=1, sort_keys=True) + "\n").encode()
    )


def generate_corpus(
    out: os.PathLike,
    config: Optional[CorpusConfig] = None,
    nj: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> Dict[str, int]:
    """Generate (or finish generating) the corpus under ``out``.

    Args:
        out: output directory.
        config: corpus settings (default: the mini corpus).
        nj: parallel worker processes.
        overwrite: regenerate everything even if ``out`` holds finished speakers
            or was made with other settings.
        progress: show a tqdm progress bar (utterances).

    Returns:
        counts: ``{"speakers", "utterances", "frames", "skipped_speakers"}``.
    """
    from tqdm import tqdm

    out = Path(out)
    config = config or CorpusConfig()
    _check_config(out, config, overwrite)
    plans = plan_corpus(config)
    state = out / ".synth_state"
    todo, skipped, counts = [], 0, {"frames": 0, "utterances": 0}
    for plan in plans:
        marker = state / f"{plan.speaker}.done"
        if marker.exists():
            skipped += 1
            for _, n in json.loads(marker.read_text()):
                counts["frames"] += n
                counts["utterances"] += 1
            continue
        todo.append((str(out), dataclasses.asdict(config), _plan_to_dict(plan)))
    total = sum(len(p["utts"]) for _, _, p in todo)
    bar = tqdm(total=total, unit="utt", desc="synth_corpus", disable=not progress)
    ctx = _context()
    with ctx.Pool(max(1, int(nj)), maxtasksperchild=1) as pool:
        for speaker, done in pool.imap_unordered(_generate_speaker, todo):
            counts["utterances"] += len(done)
            counts["frames"] += sum(n for _, n in done)
            bar.update(len(done))
    bar.close()
    if config.babble_seconds > 0:
        babble = out / "noise" / "babble.wav"
        if overwrite or not babble.exists():
            with ctx.Pool(1, maxtasksperchild=1) as pool:
                pool.apply(
                    _babble_worker,
                    (
                        str(babble),
                        config.babble_seconds,
                        config.babble_talkers,
                        config.seed + 1_000_003,
                        config.grammar,
                    ),
                )
    counts.update(speakers=len(plans), skipped_speakers=skipped)
    return counts


def _babble_worker(
    path: str, seconds: float, talkers: int, seed: int, grammar: str
) -> None:
    from msrs.data.synth.babble import synth_babble, write_wav

    write_wav(path, synth_babble(seconds, talkers, seed, grammar=grammar), SAMPLE_RATE)


def speaker_splits(out: os.PathLike) -> Dict[str, List[str]]:
    """Speakers per split found under a generated corpus (for tests and reports)."""
    out = Path(out)
    return {
        split: sorted(p.name for p in (out / split).iterdir() if p.is_dir())
        for split in ("pretrain", "trainval", "test")
        if (out / split).is_dir()
    }


__all__: Sequence[str] = [
    "CorpusConfig",
    "generate_corpus",
    "plan_corpus",
    "sample_voice",
    "speaker_splits",
]
