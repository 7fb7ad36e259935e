"""Tests of msrs.data.augment (crops, adaptive time masks, SNR mixing)."""

import numpy as np
import pytest
import soundfile

from msrs.data.augment import (
    NoiseSource,
    adaptive_time_mask,
    center_crop,
    choose_snr,
    measured_snr,
    mix_at_snr,
    random_crop,
)
from msrs.data.video_io import MediaError


@pytest.fixture
def video():
    return np.arange(5 * 96 * 96, dtype=np.int64).reshape(5, 96, 96).astype(np.float32)


def test_center_crop_takes_the_middle_window(video):
    out = center_crop(video, 88)
    assert out.shape == (5, 88, 88)
    np.testing.assert_array_equal(out, video[:, 4:92, 4:92])


def test_random_crop_is_one_window_for_all_frames_and_varies(video):
    rng = np.random.default_rng(0)
    corners = set()
    for _ in range(30):
        out = random_crop(video, 88, rng)
        assert out.shape == (5, 88, 88)
        top, left = divmod(int(out[0, 0, 0]) % (96 * 96), 96)
        np.testing.assert_array_equal(out, video[:, top : top + 88, left : left + 88])
        corners.add((top, left))
    assert len(corners) > 5
    assert all(0 <= t <= 8 and 0 <= c <= 8 for t, c in corners)


def test_random_crop_works_with_the_legacy_global_rng(video):
    np.random.seed(3)
    assert random_crop(video, 90, np.random).shape == (5, 90, 90)


def test_crop_larger_than_frame_is_a_clear_error(video):
    with pytest.raises(ValueError, match="96x96, smaller than the crop size 100"):
        center_crop(video, 100)
    with pytest.raises(ValueError, match="smaller than the crop size"):
        random_crop(video, 97, np.random.default_rng(0))


def test_adaptive_time_mask_masks_bounded_spans_and_keeps_input():
    x = np.ones((100, 2, 2), dtype=np.float32)
    rng = np.random.default_rng(1)
    masked_counts = []
    for _ in range(50):
        out = adaptive_time_mask(x, window=10, stride=25, rng=rng, fill=0.0)
        assert out.shape == x.shape and out.dtype == x.dtype
        masked = np.all(out == 0, axis=(1, 2))
        # 4 masks of at most 9 frames each
        assert masked.sum() <= 4 * 9
        masked_counts.append(masked.sum())
    assert np.all(x == 1)  # input untouched
    assert max(masked_counts) > 0


def test_adaptive_time_mask_window_one_never_masks_and_audio_works():
    x = np.ones(16000, dtype=np.float32)
    assert np.all(adaptive_time_mask(x, 1, 100, np.random.default_rng(0)) == 1)
    out = adaptive_time_mask(x, 6400, 16000, np.random.default_rng(0))
    assert (out == 0).sum() < 6400
    with pytest.raises(ValueError, match="window"):
        adaptive_time_mask(x, 0, 10, np.random.default_rng(0))


@pytest.mark.parametrize("snr", [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
def test_mix_at_snr_gives_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    speech = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.3
    noise = rng.standard_normal(8000).astype(np.float32)
    mixed = mix_at_snr(speech, noise, snr)
    assert mixed.dtype == np.float32
    assert measured_snr(speech, mixed) == pytest.approx(snr, abs=1e-3)


def test_mix_at_snr_zero_db_is_not_random_and_silence_is_left_alone():
    speech = np.full(100, 0.5, dtype=np.float32)
    noise = np.full(100, 0.25, dtype=np.float32)
    out = mix_at_snr(speech, noise, 0.0)
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)  # equal energies
    np.testing.assert_array_equal(mix_at_snr(np.zeros(100), noise, 0.0), np.zeros(100))
    with pytest.raises(ValueError, match="differ in shape"):
        mix_at_snr(speech, noise[:50], 0.0)


def test_choose_snr_returns_every_choice_including_zero_and_clean():
    rng = np.random.default_rng(0)
    seen = {choose_snr([-5.0, 0.0, None], rng) for _ in range(200)}
    assert seen == {-5.0, 0.0, None}
    with pytest.raises(ValueError, match="empty"):
        choose_snr([], rng)


def test_noise_source_reads_a_file_and_wraps_around(tmp_path):
    path = tmp_path / "noise.wav"
    noise = (0.1 * np.random.default_rng(0).standard_normal(1600)).astype(np.float32)
    soundfile.write(path, noise, 16000, subtype="FLOAT")
    src = NoiseSource(path)
    assert len(src) == 1600
    seg = src.segment(5000, np.random.default_rng(1))
    assert seg.shape == (5000,)
    start = int(np.flatnonzero(np.isclose(src.samples, seg[0]))[0])
    np.testing.assert_allclose(seg[:10], np.roll(src.samples, -start)[:10], atol=1e-6)
    np.testing.assert_allclose(seg[1600:1610], seg[:10], atol=1e-6)  # wrapped
    speech = np.sin(np.arange(5000) / 7.0).astype(np.float32)
    mixed = src.add_to(speech, 5.0, np.random.default_rng(2))
    assert measured_snr(speech, mixed) == pytest.approx(5.0, abs=1e-3)


def test_noise_source_errors_name_the_file(tmp_path):
    with pytest.raises(MediaError, match="missing.wav: file not found"):
        NoiseSource(tmp_path / "missing.wav")
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(800, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="silent.wav: noise file is empty or silent"):
        NoiseSource(silent)
