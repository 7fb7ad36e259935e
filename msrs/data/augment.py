"""Online augmentation primitives for mouth ROIs and 16 kHz audio.

All functions work on numpy arrays, take an explicit ``numpy.random.Generator``
(or ``RandomState``) where they are random, and never modify their input.
They are used by :class:`msrs.tasks.avsr_preprocessor.AVSRPreprocessor` in
the data loader and by the inference tool for noisy test conditions.

Conventions (docs/architecture.md): video is ``(T, H, W)`` gray in 0..255 at
25 fps; audio is ``(S,)`` float32 mono at 16 kHz (640 samples per frame).

The transforms follow Auto-AVSR (msrs-method.md §6, lrs3-data.md §4): random
88x88 crop in training and centre crop at test, ``AdaptiveTimeMask(10, 25)``
on video frames and ``AdaptiveTimeMask(6400, 16000)`` on audio samples, and
babble noise mixed at an SNR drawn from {-5, 0, 5, 10, 15, 20 dB, clean}.
Unlike Auto-AVSR, an SNR of 0 dB is a real SNR, not "random".
"""

from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from msrs.data.video_io import read_audio

Rng = Union[np.random.Generator, np.random.RandomState]


def _randint(rng: Rng, low: int, high: int) -> int:
    """Uniform integer in ``[low, high)`` for either numpy generator API."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(low, high))
    return int(rng.randint(low, high))


def _check_crop(video: np.ndarray, size: int) -> None:
    if video.ndim < 3:
        raise ValueError(f"video must be (T, H, W[, C]), got shape {video.shape}")
    h, w = video.shape[1], video.shape[2]
    if h < size or w < size:
        raise ValueError(f"video frames are {h}x{w}, smaller than the crop size {size}")


def random_crop(video: np.ndarray, size: int, rng: Rng) -> np.ndarray:
    """Crop the same random ``size x size`` window from every frame.

    Args:
        video: ``(T, H, W)`` (or ``(T, H, W, C)``) frames with ``H, W >= size``.
        size: crop side in pixels (88 in Auto-AVSR).
        rng: random generator.

    Returns:
        ``(T, size, size)`` view-free copy.
    """
    _check_crop(video, size)
    top = _randint(rng, 0, video.shape[1] - size + 1)
    left = _randint(rng, 0, video.shape[2] - size + 1)
    return video[:, top : top + size, left : left + size].copy()


def center_crop(video: np.ndarray, size: int) -> np.ndarray:
    """Crop the central ``size x size`` window of every frame (test time).

    Args:
        video: ``(T, H, W)`` (or ``(T, H, W, C)``) frames with ``H, W >= size``.
        size: crop side in pixels.

    Returns:
        ``(T, size, size)`` copy.
    """
    _check_crop(video, size)
    top = (video.shape[1] - size) // 2
    left = (video.shape[2] - size) // 2
    return video[:, top : top + size, left : left + size].copy()


def adaptive_time_mask(
    x: np.ndarray, window: int, stride: int, rng: Rng, fill: float = 0.0
) -> np.ndarray:
    """Mask random spans along axis 0, their number growing with the length.

    One mask per ``stride`` steps (rounded up), each of a length drawn
    uniformly from ``[0, window)`` at a uniform start, as Auto-AVSR's
    ``AdaptiveTimeMask(window, stride)``.  Masked steps are set to ``fill``
    (0: a black frame before normalisation, silence for audio).

    Args:
        x: ``(T, ...)`` frames or ``(S,)`` samples.
        window: exclusive upper bound of a mask length (frames or samples).
        stride: steps per mask (25 frames = 1 s of video, 16000 samples = 1 s).
        rng: random generator.
        fill: value written into the masked spans.

    Returns:
        Masked copy of ``x`` (same shape and dtype).
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window ({window}) and stride ({stride}) must be >= 1")
    out = np.array(x, copy=True)
    length = out.shape[0]
    if length == 0:
        return out
    n_masks = -(-length // stride)
    for _ in range(n_masks):
        span = _randint(rng, 0, window)
        if span == 0 or span >= length:
            continue
        start = _randint(rng, 0, length - span + 1)
        out[start : start + span] = fill
    return out


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add ``noise`` to ``speech`` scaled to a given signal-to-noise ratio.

    Uses ``torchaudio.functional.add_noise``'s definition: the noise is scaled
    by ``sqrt(E_s / (E_n * 10 ** (snr_db / 10)))`` with energies summed over the
    whole segment, so the SNR of the returned mixture is exactly ``snr_db``.
    Silent speech or silent noise returns ``speech`` unchanged.  The result is
    not clipped (the audio frontend normalises each utterance).

    Args:
        speech: ``(S,)`` float samples.
        noise: ``(S,)`` float samples (same length; see :class:`NoiseSource`).
        snr_db: target SNR in dB (any real number; 0 means equal energies).

    Returns:
        ``(S,)`` float32 mixture.
    """
    speech = np.asarray(speech, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float32)
    if speech.shape != noise.shape:
        raise ValueError(
            f"speech {speech.shape} and noise {noise.shape} differ in shape"
        )
    e_s = float(np.sum(speech.astype(np.float64) ** 2))
    e_n = float(np.sum(noise.astype(np.float64) ** 2))
    if e_s == 0.0 or e_n == 0.0:
        return speech.copy()
    scale = np.sqrt(e_s / (e_n * 10.0 ** (snr_db / 10.0)))
    return (speech + scale * noise).astype(np.float32)


def measured_snr(speech: np.ndarray, mixture: np.ndarray) -> float:
    """SNR in dB of ``mixture`` relative to the clean ``speech``."""
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(mixture, dtype=np.float64) - speech
    return float(10.0 * np.log10(np.sum(speech**2) / np.sum(noise**2)))


def choose_snr(choices: Sequence[Optional[float]], rng: Rng) -> Optional[float]:
    """Draw one SNR uniformly from ``choices`` (``None`` stands for clean)."""
    if len(choices) == 0:
        raise ValueError("the SNR choice set is empty")
    return choices[_randint(rng, 0, len(choices))]


class NoiseSource:
    """A noise recording from which segments of any length are cut.

    The file is decoded once (any PyAV-readable audio, resampled to
    ``sample_rate``).  Segments start at a random offset and wrap around the
    end of the recording, so a short babble file can noise long utterances.

    Args:
        path: noise file (e.g. 16 kHz babble wav; NOISEX/MUSAN files work too).
        sample_rate: rate of the speech it is mixed into (Hz).

    Raises:
        msrs.data.video_io.MediaError: unreadable file.
        ValueError: silent or empty noise.
    """

    def __init__(self, path: Union[str, Path], sample_rate: int = 16000):
        self.path = str(path)
        self.sample_rate = sample_rate
        self.samples = read_audio(self.path, sample_rate=sample_rate)
        if self.samples.size == 0 or not np.any(self.samples):
            raise ValueError(f"{self.path}: noise file is empty or silent")

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    def segment(self, num_samples: int, rng: Rng) -> np.ndarray:
        """Return ``num_samples`` consecutive noise samples from a random offset.

        Args:
            num_samples: segment length in samples.
            rng: random generator (seed it per utterance for reproducible tests).

        Returns:
            ``(num_samples,)`` float32.
        """
        n = len(self)
        start = _randint(rng, 0, n)
        idx = (start + np.arange(num_samples)) % n
        return self.samples[idx]

    def add_to(self, speech: np.ndarray, snr_db: float, rng: Rng) -> np.ndarray:
        """Mix a random segment into ``speech`` at ``snr_db`` (:func:`mix_at_snr`)."""
        return mix_at_snr(speech, self.segment(speech.shape[0], rng), snr_db)
