"""Synthetic babble noise: several espeak-ng talkers, level-matched and mixed.

Each talker (own voice, accent variant, rate and pitch) reads random sentences
of the template grammar with random pauses, starting at a random offset; every
talker track is scaled to the same RMS, the tracks are summed and the mix is
peak-normalised to ``peak``.  License-clean (the speech is synthesised), so it
can ship with the recipe; real babble (NOISEX-92, MUSAN) can be used instead
wherever a noise file is taken.

Run in a fresh process for reproducible bytes (espeak-ng keeps state).
"""

from pathlib import Path
from typing import Union

import numpy as np

from msrs.data.video_io import write_wav as _write_wav

SAMPLE_RATE = 16000


def synth_babble(
    seconds: float = 30.0,
    talkers: int = 6,
    seed: int = 0,
    grammar: str = "template",
    peak: float = 0.3,
    espeak=None,
) -> np.ndarray:
    """Synthesise babble.

    Args:
        seconds: length in seconds.
        talkers: number of simultaneous talkers.
        seed: random seed (voices, sentences, pauses).
        grammar: sentence grammar (``template`` or ``grid``).
        peak: peak amplitude of the mix.
        espeak: an existing :class:`~msrs.data.synth.espeak.Espeak` (one per process).

    Returns:
        ``float32 (round(seconds * 16000),)`` at 16 kHz.
    """
    from msrs.data.synth.corpus import _resample, sample_voice
    from msrs.data.synth.espeak import Espeak
    from msrs.data.synth.grammar import build_grammar

    if seconds <= 0 or talkers < 1:
        raise ValueError(
            f"babble needs seconds > 0 and talkers >= 1, got {seconds}, {talkers}"
        )
    rng = np.random.default_rng(seed)
    gram = build_grammar(grammar)
    espeak = espeak or Espeak.instance(seed)
    n = int(round(seconds * SAMPLE_RATE))
    mix = np.zeros(n, np.float64)
    for _ in range(talkers):
        voice = sample_voice(rng)
        track = [np.zeros(int(rng.uniform(0, 1.5) * SAMPLE_RATE), np.float32)]
        length = len(track[0])
        while length < n:
            syn = espeak.synthesize(
                gram.sample(rng), voice.name, voice.rate, voice.pitch, voice.pitch_range
            )
            speech = _resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
            pause = np.zeros(int(rng.uniform(0.05, 0.5) * SAMPLE_RATE), np.float32)
            track += [speech, pause]
            length += len(speech) + len(pause)
        t = np.concatenate(track)[:n].astype(np.float64)
        mix += t / (np.sqrt(np.mean(t**2)) + 1e-9)
    mix *= peak / (np.abs(mix).max() + 1e-9)
    return mix.astype(np.float32)


def write_wav(
    path: Union[str, Path], audio: np.ndarray, sample_rate: int = SAMPLE_RATE
) -> None:
    """Write 16-bit PCM mono WAV atomically."""
    _write_wav(path, audio, sample_rate)
