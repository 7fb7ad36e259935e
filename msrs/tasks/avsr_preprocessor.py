"""Per-utterance preprocessing of the AVSR task (``--preprocessor avsr``)."""

import zlib
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

import numpy as np
from espnet2.train.preprocessor import CommonPreprocessor
from typeguard import typechecked

from msrs.data.augment import (
    NoiseSource,
    adaptive_time_mask,
    center_crop,
    choose_snr,
    random_crop,
)

MODALITIES = ("vsr", "asr", "avsr")
#: Auto-AVSR's training SNRs in dB; ``None`` is clean speech.
DEFAULT_SNRS: List[Optional[float]] = [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, None]


def ctc_min_frames(token_ids: np.ndarray) -> int:
    """Fewest encoder frames a CTC alignment of ``token_ids`` needs.

    One frame per token plus one blank between each pair of equal neighbours.
    """
    ids = np.asarray(token_ids).reshape(-1)
    if ids.size == 0:
        return 0
    return int(ids.size + np.count_nonzero(ids[1:] == ids[:-1]))


def utterance_normalize(
    video: np.ndarray, mean: float = 0.421 * 255, std: float = 0.165 * 255
) -> np.ndarray:
    """Remove the mean frame of one utterance and rescale to pixel statistics.

    Args:
        video: (T, H, W) frames, pixel values 0..255.
        mean: pixel mean of the output (0..255 scale).
        std: pixel standard deviation of the output (0..255 scale).

    Returns:
        (T, H, W) float32 frames on the 0..255 scale that the video frontend
        normalises with its fixed statistics.
    """
    x = video.astype(np.float32)
    x = x - x.mean(axis=0, keepdims=True)
    return x / (x.std() + 1e-5) * std + mean


def utterance_rng(uid: str, seed: int = 0) -> np.random.Generator:
    """Generator seeded from the utterance id (reproducible test-time noise)."""
    return np.random.default_rng([zlib.crc32(uid.encode("utf-8")), seed])


class AVSRPreprocessor(CommonPreprocessor):
    """Tokenise text and augment video/audio for one utterance.

    Text goes through ESPnet's ``CommonPreprocessor`` (``--token_type``
    bpe/char/word, ``--bpemodel``, ``--cleaner``).  Then, with ``train=True``:

    - video ``(T, H, W)``: random ``crop_size`` crop, then adaptive time
      masking (``video_time_mask_window`` frames per ``video_time_mask_stride``);
    - audio ``(S,)``: adaptive time masking (``audio_time_mask_window`` samples
      per ``audio_time_mask_stride``), then noise from ``noise_file`` at an SNR
      drawn uniformly from ``snr_choices`` (``null`` = clean);

    and with ``train=False``: centre crop; noise only when ``test_snr`` is set,
    from an offset seeded by the utterance id (reproducible decoding).

    Checks (each raises ``ValueError`` naming the utterance; the training
    dataset then skips the utterance with a warning):

    - a stream needed by ``modality`` is missing, or has no samples/frames;
    - in ``avsr``, audio and video lengths disagree by more than
      ``max_length_diff`` frames (smaller differences are fixed by trimming or
      zero-padding the audio to ``samples_per_frame * T``);
    - the transcript is empty, or (``check_ctc_length``) the stream has fewer
      frames than CTC needs for the token sequence (:func:`ctc_min_frames`;
      frames are video frames, or ``samples // samples_per_frame`` for audio).

    Args:
        train: training mode (random augmentation) or not.
        modality: ``vsr``, ``asr`` or ``avsr`` (set from ``--modality``).
        token_type: ESPnet token type (``bpe``, ``char``, ``word``, ...).
        token_list: token list file or list.
        bpemodel: SentencePiece model for ``bpe``.
        text_cleaner: ESPnet text cleaner(s).
        g2p_type: ESPnet g2p (``phn`` tokens).
        non_linguistic_symbols: ESPnet non-linguistic symbols file.
        unk_symbol: unknown token.
        space_symbol: space token for ``char``.
        video_name: data name of the video stream.
        speech_name: data name of the audio stream.
        text_name: data name of the transcript.
        crop_size: square crop side in pixels (Auto-AVSR: 88 out of 96).
        video_time_mask_window: max masked frames per mask (Auto-AVSR: 10; 0: off).
        video_time_mask_stride: frames per mask (Auto-AVSR: 25 = one per second).
        video_utterance_norm: subtract the utterance's mean frame and rescale
            the residual to the frontend's pixel statistics (mean 0.421,
            std 0.165 of 255), so what is left is motion, not appearance
            (*ours*, off by default; helps small corpora with few speakers).
        audio_time_mask_window: max masked samples per mask (Auto-AVSR: 6400; 0: off).
        audio_time_mask_stride: samples per mask (Auto-AVSR: 16000).
        noise_file: babble/noise recording mixed into training audio (``None``:
            no noise).  Any PyAV-readable file; resampled to 16 kHz.
        snr_choices: SNRs in dB drawn uniformly in training; ``null`` entries
            mean clean (Auto-AVSR: -5, 0, 5, 10, 15, 20, clean).
        test_snr: SNR in dB for non-training mode (inference ``--snr``);
            ``None``: clean.
        samples_per_frame: audio samples per video frame (640 at 16 kHz / 25 fps).
        max_length_diff: tolerated audio/video length difference in frames.
        check_ctc_length: skip utterances too short for their transcript.
        noise_seed: extra seed of the test-time noise offsets.
    """

    @typechecked
    def __init__(
        self,
        train: bool,
        modality: str = "avsr",
        token_type: Optional[str] = None,
        token_list: Union[Path, str, Iterable[str], None] = None,
        bpemodel: Union[Path, str, None] = None,
        text_cleaner: Union[str, Iterable[str], None] = None,
        g2p_type: Optional[str] = None,
        non_linguistic_symbols: Union[Path, str, Iterable[str], None] = None,
        unk_symbol: str = "<unk>",
        space_symbol: str = "<space>",
        video_name: str = "video",
        speech_name: str = "speech",
        text_name: str = "text",
        crop_size: int = 88,
        video_time_mask_window: int = 10,
        video_time_mask_stride: int = 25,
        video_utterance_norm: bool = False,
        audio_time_mask_window: int = 6400,
        audio_time_mask_stride: int = 16000,
        noise_file: Optional[str] = None,
        snr_choices: List[Optional[float]] = DEFAULT_SNRS,
        test_snr: Optional[float] = None,
        samples_per_frame: int = 640,
        max_length_diff: int = 3,
        check_ctc_length: bool = True,
        noise_seed: int = 0,
    ):
        super().__init__(
            train=train,
            token_type=token_type,
            token_list=token_list,
            bpemodel=bpemodel,
            text_cleaner=text_cleaner,
            g2p_type=g2p_type,
            unk_symbol=unk_symbol,
            space_symbol=space_symbol,
            non_linguistic_symbols=non_linguistic_symbols,
            speech_name=speech_name,
            text_name=text_name,
        )
        if modality not in MODALITIES:
            raise ValueError(
                f"--modality must be one of {MODALITIES}, got {modality!r}"
            )
        if crop_size < 1:
            raise ValueError(f"preprocessor_conf.crop_size must be >= 1: {crop_size}")
        for key, value in (
            ("video_time_mask_window", video_time_mask_window),
            ("audio_time_mask_window", audio_time_mask_window),
        ):
            if value < 0:
                raise ValueError(f"preprocessor_conf.{key} must be >= 0: {value}")
        for key, value in (
            ("video_time_mask_stride", video_time_mask_stride),
            ("audio_time_mask_stride", audio_time_mask_stride),
            ("samples_per_frame", samples_per_frame),
        ):
            if value < 1:
                raise ValueError(f"preprocessor_conf.{key} must be >= 1: {value}")
        if train and noise_file is not None and len(snr_choices) == 0:
            raise ValueError("preprocessor_conf.snr_choices is empty")
        if test_snr is not None and noise_file is None:
            raise ValueError(
                "a test SNR needs preprocessor_conf.noise_file (--noise_file)"
            )
        self.modality = modality
        self.video_name = video_name
        self.crop_size = crop_size
        self.video_time_mask = (video_time_mask_window, video_time_mask_stride)
        self.video_utterance_norm = video_utterance_norm
        self.audio_time_mask = (audio_time_mask_window, audio_time_mask_stride)
        self.snr_choices = list(snr_choices)
        self.test_snr = test_snr
        self.samples_per_frame = samples_per_frame
        self.max_length_diff = max_length_diff
        self.check_ctc_length = check_ctc_length
        self.noise_seed = noise_seed
        use_noise = noise_file is not None and (
            (train and any(s is not None for s in self.snr_choices))
            or (not train and test_snr is not None)
        )
        try:
            self.noise = NoiseSource(noise_file) if use_noise else None
        except Exception as e:
            raise ValueError(f"preprocessor_conf.noise_file: {e}") from e

    @property
    def uses_video(self) -> bool:
        return self.modality in ("vsr", "avsr")

    @property
    def uses_audio(self) -> bool:
        return self.modality in ("asr", "avsr")

    def _rng(self, uid: str):
        # NOTE(msrs): numpy's global RNG is reseeded by ESPnet per epoch and per
        # DataLoader worker, so training augmentation is reproducible.
        return np.random if self.train else utterance_rng(uid, self.noise_seed)

    def _video(self, uid: str, video: np.ndarray) -> np.ndarray:
        if video.ndim == 4 and video.shape[-1] == 1:
            video = video[..., 0]
        if video.ndim != 3 or video.shape[0] == 0:
            raise ValueError(
                f"{uid}: video must be non-empty (T, H, W), got {video.shape}"
            )
        try:
            if self.train:
                video = random_crop(video, self.crop_size, np.random)
            else:
                video = center_crop(video, self.crop_size)
        except ValueError as e:
            raise ValueError(f"{uid}: {e} (preprocessor_conf.crop_size)") from e
        if self.video_utterance_norm:
            video = utterance_normalize(video)
        window, stride = self.video_time_mask
        if self.train and window > 0:
            video = adaptive_time_mask(video, window, stride, np.random, fill=0.0)
        return video.astype(np.float32)

    def _audio(
        self, uid: str, speech: np.ndarray, num_frames: Optional[int]
    ) -> np.ndarray:
        speech = np.asarray(speech, dtype=np.float32)
        if speech.ndim == 2:
            if speech.shape[1] != 1:
                raise ValueError(f"{uid}: audio must be mono, got shape {speech.shape}")
            speech = speech[:, 0]
        if speech.ndim != 1 or speech.shape[0] == 0:
            raise ValueError(
                f"{uid}: zero-length or malformed audio (shape {speech.shape})"
            )
        spf = self.samples_per_frame
        if num_frames is not None:
            audio_frames = speech.shape[0] / spf
            if abs(audio_frames - num_frames) > self.max_length_diff:
                raise ValueError(
                    f"{uid}: audio has {speech.shape[0]} samples ({audio_frames:.1f} "
                    f"frames) but video has {num_frames} frames (more than "
                    f"max_length_diff={self.max_length_diff} apart)"
                )
            target = num_frames * spf
            if speech.shape[0] >= target:
                speech = speech[:target]
            else:
                speech = np.pad(speech, (0, target - speech.shape[0]))
        elif speech.shape[0] < spf:
            raise ValueError(
                f"{uid}: audio has {speech.shape[0]} samples, shorter than one frame "
                f"({spf} samples)"
            )
        window, stride = self.audio_time_mask
        if self.train and window > 0:
            speech = adaptive_time_mask(speech, window, stride, np.random, fill=0.0)
        if self.noise is not None:
            if self.train:
                snr = choose_snr(self.snr_choices, np.random)
                rng = np.random
            else:
                snr, rng = self.test_snr, utterance_rng(uid, self.noise_seed)
            if snr is not None:
                speech = self.noise.add_to(speech, float(snr), rng)
        return speech.astype(np.float32)

    def __call__(
        self, uid: str, data: Dict[str, Union[str, np.ndarray]]
    ) -> Dict[str, np.ndarray]:
        """Process one utterance (see the class docstring).

        Args:
            uid: utterance id (used in errors and for test-time noise offsets).
            data: ``{"video": (T,H,W), "speech": (S,), "text": str}`` (subset).

        Returns:
            The processed arrays: float32 video ``(T, crop, crop)``, float32
            audio ``(S,)``, int64 token ids ``(L,)``.
        """
        names = {"video": self.video_name, "speech": self.speech_name}
        needed = [
            k
            for k, use in (("video", self.uses_video), ("speech", self.uses_audio))
            if use
        ]
        for key in needed:
            if names[key] not in data:
                raise ValueError(
                    f"{uid}: --modality {self.modality} needs the {names[key]!r} "
                    f"stream, which this utterance lacks"
                )
        num_frames = None
        if self.uses_video:
            data[self.video_name] = self._video(uid, data[self.video_name])
            num_frames = data[self.video_name].shape[0]
        if self.uses_audio:
            data[self.speech_name] = self._audio(
                uid, data[self.speech_name], num_frames
            )
        data = self._text_process(data)
        if self.text_name in data:
            tokens = data[self.text_name]
            if tokens.size == 0:
                raise ValueError(f"{uid}: empty transcript")
            if self.check_ctc_length:
                frames = (
                    num_frames
                    if num_frames is not None
                    else data[self.speech_name].shape[0] // self.samples_per_frame
                )
                need = ctc_min_frames(tokens)
                if frames < need:
                    raise ValueError(
                        f"{uid}: {frames} frames are too few for CTC on {tokens.size} "
                        f"tokens (needs at least {need})"
                    )
        return data
