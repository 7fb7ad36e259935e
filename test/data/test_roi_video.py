import numpy as np
import pytest

from msrs.bin.dump_estimate import main as estimate_main
from msrs.data import roi_video, video_io
from msrs.data.video_io import MediaError


def _mouth_frames(t=30, h=96, w=96, seed=0):
    """Smooth moving texture with mild noise, like an ROI clip."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    frames = [
        128 + 70 * np.sin(xx / 9 + i / 4) * np.cos(yy / 11 - i / 6) + rng.normal(0, 2, (h, w))
        for i in range(t)
    ]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def test_crf0_round_trip_is_bit_exact_over_the_full_grey_range(tmp_path):
    frames = _mouth_frames()
    frames[0, 0, :4] = [0, 1, 254, 255]  # outside the 16..235 video range
    path = tmp_path / "a.mp4"
    roi_video.encode_roi(path, frames, crf=0)
    got = roi_video.read_roi(path)
    assert got.dtype == np.uint8 and got.shape == frames.shape
    assert np.array_equal(got, frames)
    # the general reader agrees with the fast one
    assert np.array_equal(video_io.read_video(path, gray=True), got)


def test_default_crf_is_lossy_but_close_and_much_smaller(tmp_path):
    frames = _mouth_frames()
    roi_video.encode_roi(tmp_path / "l.mp4", frames, crf=0)
    roi_video.encode_roi(tmp_path / "d.mp4", frames)
    got = roi_video.read_roi(tmp_path / "d.mp4")
    err = np.abs(got.astype(int) - frames)
    assert 0 < err.mean() < 3.0
    size_l = (tmp_path / "l.mp4").stat().st_size
    assert (tmp_path / "d.mp4").stat().st_size * 4 < size_l


def test_legacy_limited_range_mp4_reads_like_read_video(tmp_path):
    frames = _mouth_frames(t=12)
    path = tmp_path / "old.mp4"
    video_io.encode_video(path, frames, crf=0)  # yuv420p, limited range
    assert np.array_equal(roi_video.read_roi(path), video_io.read_video(path, gray=True))


def test_odd_sizes_round_trip(tmp_path):
    frames = _mouth_frames(t=5, h=33, w=47)
    roi_video.encode_roi(tmp_path / "o.mp4", frames, crf=0)
    assert np.array_equal(roi_video.read_roi(tmp_path / "o.mp4"), frames)


def test_bad_input_names_the_file(tmp_path):
    with pytest.raises(ValueError, match="x.mp4: ROI frames must be non-empty uint8"):
        roi_video.encode_roi(tmp_path / "x.mp4", np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="x.mp4: x264 CRF must be in 0..51"):
        roi_video.encode_roi(tmp_path / "x.mp4", np.zeros((3, 8, 8), np.uint8), crf=60)
    with pytest.raises(MediaError, match="missing.mp4: file not found"):
        roi_video.read_roi(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError, match="junk.mp4"):
        roi_video.read_roi(junk)


def test_bytes_per_frame_estimate():
    assert roi_video.roi_bytes_per_frame("npy") == 96 * 96
    sizes = [roi_video.roi_bytes_per_frame("mp4", c) for c in (0, 10, 20, 23, 28, 40)]
    assert all(a > b for a, b in zip(sizes, sizes[1:-1]))  # smaller with the CRF
    assert sizes[-1] == sizes[-2]  # clamped beyond the measured range
    at23 = roi_video.roi_bytes_per_frame("mp4", 23)
    assert at23 == pytest.approx(254)  # the real-video anchor
    assert roi_video.roi_bytes_per_frame("mp4", 23, 48, 48) == pytest.approx(at23 / 4)
    with pytest.raises(ValueError, match="unknown ROI format 'png'"):
        roi_video.roi_bytes_per_frame("png")


def test_dump_estimate_cli(tmp_path, capsys, caplog):
    d = tmp_path / "data" / "train"
    d.mkdir(parents=True)
    (d / "utt2dur").write_text("a 4.00\nb 6.00\n")  # 250 frames
    out = tmp_path / "dump"
    assert estimate_main([str(d), "--dumpdir", str(out), "--roi_opts", "--roi_format npy"]) == 0
    text = capsys.readouterr().out
    assert "2 utterances, 250 frames" in text
    npy_gb = (250 * 9216 + 2 * 128) / 1e9
    assert f"ROIs ~{npy_gb:.2f} GB (npy)" in text
    assert "stage 2 needs about" in text and "GB free" in text
    assert estimate_main([str(d), "--dumpdir", str(out), "--roi_opts", "--roi_format mp4 --roi_crf 0"]) == 0
    assert "(mp4 CRF 0)" in capsys.readouterr().out
    assert estimate_main([str(tmp_path / "nodata"), "--dumpdir", str(out)]) == 1
    assert "nodata/utt2dur: missing" in caplog.text
