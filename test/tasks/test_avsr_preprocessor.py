"""Tests of msrs.tasks.avsr_preprocessor.AVSRPreprocessor."""

import numpy as np
import pytest
import soundfile

from msrs.data.augment import measured_snr
from msrs.tasks.avsr_preprocessor import AVSRPreprocessor, ctc_min_frames
from msrs.tasks.avsr_testing import TOKENS


def make(train, modality="avsr", **kw):
    return AVSRPreprocessor(
        train=train, modality=modality, token_type="char", token_list=TOKENS, **kw
    )


def sample(frames=30, size=32, text="AB C"):
    rng = np.random.default_rng(0)
    return {
        "video": rng.integers(0, 255, (frames, size, size)).astype(np.float32),
        "speech": (0.1 * rng.standard_normal(frames * 640)).astype(np.float32),
        "text": text,
    }


@pytest.fixture
def noise_file(tmp_path):
    path = tmp_path / "babble.wav"
    rng = np.random.default_rng(5)
    soundfile.write(
        path,
        (0.2 * rng.standard_normal(16000)).astype(np.float32),
        16000,
        subtype="FLOAT",
    )
    return str(path)


def test_ctc_min_frames_counts_repeats():
    assert ctc_min_frames(np.array([3, 4, 5])) == 3
    assert ctc_min_frames(np.array([3, 3, 5, 5, 5])) == 8
    assert ctc_min_frames(np.array([], dtype=np.int64)) == 0


def test_test_mode_center_crops_and_tokenises():
    out = make(False, crop_size=28)("u1", sample())
    assert out["video"].shape == (30, 28, 28) and out["video"].dtype == np.float32
    np.testing.assert_array_equal(out["video"], sample()["video"][:, 2:30, 2:30])
    np.testing.assert_array_equal(out["speech"], sample()["speech"])
    assert out["text"].tolist() == [TOKENS.index(t) for t in ["A", "B", "<space>", "C"]]


def test_train_mode_random_crop_time_mask_and_noise(noise_file):
    np.random.seed(0)
    pre = make(
        True,
        crop_size=28,
        noise_file=noise_file,
        snr_choices=[0.0],
        video_time_mask_window=10,
        video_time_mask_stride=5,
        audio_time_mask_window=1,
        audio_time_mask_stride=16000,
    )
    clean = sample()
    out = pre("u1", sample())
    assert out["video"].shape == (30, 28, 28)
    assert np.any(np.all(out["video"] == 0, axis=(1, 2)))  # some frames masked
    assert measured_snr(clean["speech"], out["speech"]) == pytest.approx(0.0, abs=1e-3)


def test_clean_choice_leaves_audio_untouched(noise_file):
    pre = make(
        True,
        noise_file=noise_file,
        snr_choices=[None],
        crop_size=28,
        audio_time_mask_window=0,
    )
    out = pre("u1", sample())
    np.testing.assert_array_equal(out["speech"], sample()["speech"])


def test_test_snr_is_exact_and_reproducible_per_utterance(noise_file):
    pre = make(False, crop_size=28, noise_file=noise_file, test_snr=5.0)
    a1 = pre("utt_a", sample())["speech"]
    a2 = pre("utt_a", sample())["speech"]
    b = pre("utt_b", sample())["speech"]
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, b)
    assert measured_snr(sample()["speech"], a1) == pytest.approx(5.0, abs=1e-3)
    with pytest.raises(ValueError, match="needs preprocessor_conf.noise_file"):
        make(False, test_snr=5.0)


def test_audio_is_aligned_to_640_samples_per_video_frame():
    data = sample()
    data["speech"] = data["speech"][: 29 * 640 + 100]  # ~1 frame short
    out = make(False, crop_size=28)("u1", data)
    assert out["speech"].shape == (30 * 640,)
    data = sample()
    data["speech"] = data["speech"][: 20 * 640]
    with pytest.raises(
        ValueError, match="u1: audio has 12800 samples .* video has 30 frames"
    ):
        make(False, crop_size=28)("u1", data)


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(text=""), "u9: empty transcript"),
        (
            dict(text="AAAA"),
            r"u9: 5 frames are too few for CTC on 4 tokens \(needs at least 7\)",
        ),
        (dict(video=np.zeros((0, 32, 32), np.float32)), "u9: video must be non-empty"),
        (
            dict(video=np.zeros((5, 20, 20), np.float32)),
            r"u9: .*smaller than the crop size 28",
        ),
    ],
)
def test_bad_utterances_raise_naming_the_utterance(change, message):
    data = sample(frames=5)
    data.update(change)
    with pytest.raises(ValueError, match=message):
        make(False, modality="vsr", crop_size=28)("u9", data)


def test_modality_stream_requirements():
    data = sample()
    del data["speech"]
    with pytest.raises(
        ValueError, match="u1: --modality avsr needs the 'speech' stream"
    ):
        make(False, crop_size=28)("u1", data)
    out = make(False, modality="asr")(
        "u1", {"speech": sample()["speech"], "text": "AB"}
    )
    assert out["speech"].shape == (30 * 640,)
    with pytest.raises(
        ValueError, match="u1: audio has 100 samples, shorter than one frame"
    ):
        make(False, modality="asr")(
            "u1", {"speech": np.ones(100, np.float32), "text": "A"}
        )
    with pytest.raises(ValueError, match="--modality must be one of"):
        make(False, modality="lips")


def test_noise_file_errors_are_configuration_errors(tmp_path):
    with pytest.raises(ValueError, match="preprocessor_conf.noise_file: .*missing.wav"):
        make(True, noise_file=str(tmp_path / "missing.wav"))


def test_video_utterance_norm_removes_appearance():
    """Two videos differing by a static image map to the same normalised frames."""
    rng = np.random.default_rng(3)
    motion = rng.integers(0, 60, (20, 16, 16)).astype(np.float32)
    face_a = rng.integers(0, 150, (1, 16, 16)).astype(np.float32)
    face_b = rng.integers(50, 190, (1, 16, 16)).astype(np.float32)
    pre = make(False, modality="vsr", crop_size=16, video_utterance_norm=True)
    out_a = pre("u1", {"video": motion + face_a, "text": "AB"})["video"]
    out_b = pre("u2", {"video": motion + face_b, "text": "AB"})["video"]
    np.testing.assert_allclose(out_a, out_b, atol=1e-3)
    assert abs(out_a.mean() - 0.421 * 255) < 1e-2
    assert abs(out_a.std() - 0.165 * 255) < 1e-2
    plain = make(False, modality="vsr", crop_size=16)("u1", {"video": motion + face_a, "text": "AB"})
    assert not np.allclose(plain["video"], out_b, atol=1)
