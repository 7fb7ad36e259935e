"""Tests of msrs.tasks.avsr_data (video type, fault-tolerant dataset/iterator)."""

import logging

import numpy as np
import pytest
import torch

from msrs.data.video_io import MediaError, write_video
from msrs.tasks.avsr import AVSRTask  # noqa: F401  (registers the video type)
from msrs.tasks.avsr_data import (
    SKIP_KEY,
    SkipAwareCollateFn,
    SkipFilteringIterator,
    SkippingDataset,
    VideoScpReader,
    load_video,
)


def test_video_type_is_registered_in_espnet():
    from espnet2.train.dataset import DATA_TYPES

    assert "video" in DATA_TYPES
    assert DATA_TYPES["video"]["func"].__module__ == "msrs.tasks.avsr_data"


def test_load_npy_uint8_and_gray_mp4(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (6, 32, 32)).astype(np.uint8)
    np.save(tmp_path / "a.npy", frames)
    out = load_video(tmp_path / "a.npy")
    assert out.dtype == np.float32 and out.shape == (6, 32, 32)
    np.testing.assert_array_equal(out, frames.astype(np.float32))
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (6, 32, 1))
    write_video(tmp_path / "b.mp4", smooth, crf=0)
    out = load_video(tmp_path / "b.mp4")
    assert out.shape == (6, 32, 32) and out.dtype == np.float32
    assert np.abs(out - smooth).mean() < 3.0


@pytest.mark.parametrize(
    "array,message",
    [
        (np.zeros((0, 8, 8), np.uint8), "zero-length video"),
        (np.zeros((4, 8), np.uint8), r"expected gray frames \(T, H, W\)"),
        (np.zeros((4, 8, 8), np.int32), "expected uint8"),
    ],
)
def test_bad_arrays_are_media_errors_naming_the_file(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(MediaError, match=f"bad.npy: {message}"):
        load_video(tmp_path / "bad.npy")


def test_corrupt_files_are_media_errors(tmp_path):
    (tmp_path / "c.npy").write_bytes(b"not numpy")
    with pytest.raises(MediaError, match="c.npy: cannot read npy"):
        load_video(tmp_path / "c.npy")
    (tmp_path / "c.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(MediaError, match="c.mp4"):
        load_video(tmp_path / "c.mp4")


def test_video_scp_reader_is_a_lazy_mapping(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 4, 4), np.uint8))
    (tmp_path / "video.scp").write_text(
        f"a {tmp_path}/a.npy\nb {tmp_path}/missing.npy\n"
    )
    reader = VideoScpReader(tmp_path / "video.scp")
    assert len(reader) == 2 and "b" in reader and list(reader.keys()) == ["a", "b"]
    assert reader["a"].shape == (3, 4, 4)
    with pytest.raises(MediaError, match="missing.npy"):
        reader["b"]


@pytest.fixture
def scps(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for uid, t in (("u1", 5), ("u2", 7), ("u3", 4)):
        np.save(
            tmp_path / f"{uid}.npy", rng.integers(0, 255, (t, 8, 8)).astype(np.uint8)
        )
        lines.append(f"{uid} {tmp_path}/{uid}.npy")
    (tmp_path / "u3.npy").write_bytes(b"garbage")  # corrupt
    lines.append(f"u4 {tmp_path}/u4.npy")  # in video.scp but not in text
    (tmp_path / "video.scp").write_text("\n".join(lines) + "\n")
    (tmp_path / "text").write_text("u1 A\nu2 B\nu3 C\n")
    return [
        (str(tmp_path / "video.scp"), "video", "video"),
        (str(tmp_path / "text"), "text", "text"),
    ]


def _tokenise(uid, data):
    data["text"] = np.array([ord(c) for c in data["text"]], dtype=np.int64)
    return data


def test_skipping_dataset_marks_bad_items_with_a_reason(scps):
    ds = SkippingDataset(scps, preprocess=_tokenise)
    uid, data = ds["u1"]
    assert uid == "u1" and data["video"].shape == (5, 8, 8)
    _, bad = ds["u3"]
    assert "MediaError" in bad[SKIP_KEY] and "u3.npy: cannot read npy" in bad[SKIP_KEY]
    _, missing = ds["u4"]
    assert missing[SKIP_KEY].startswith("not listed in text (")


def test_collate_and_iterator_drop_skipped_items_and_log_them(scps, caplog):
    ds = SkippingDataset(scps, preprocess=_tokenise)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=2,
        sampler=["u1", "u3", "u4", "u2"],
        collate_fn=SkipAwareCollateFn(float_pad_value=0.0, int_pad_value=-1),
    )
    it = SkipFilteringIterator(loader, "train")
    with caplog.at_level(logging.WARNING):
        batches = list(it)
    assert [keys for keys, _ in batches] == [
        ["u1"],
        ["u2"],
    ]  # the all-bad batch is gone
    assert batches[0][1]["video"].shape == (1, 5, 8, 8)
    assert batches[0][1]["text_lengths"].tolist() == [1]
    assert "__skipped__" not in batches[0][1]
    assert [u for u, _ in it.skipped] == ["u3", "u4"]
    assert "[train] skipping utterance u3: MediaError" in caplog.text
    assert "[train] skipped 2 of 4 utterances" in caplog.text


def test_iteration_where_everything_fails_is_an_error(scps):
    ds = SkippingDataset(scps)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, sampler=["u3", "u4"], collate_fn=SkipAwareCollateFn()
    )
    with pytest.raises(
        RuntimeError, match=r"\[valid\] every utterance failed .*first: u3"
    ):
        list(SkipFilteringIterator(loader, "valid"))


def test_streaming_iterator_follows_the_key_file_and_skips(scps, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("u2 x\nu3 y\nu1 z\n")
    it = AVSRTask.build_streaming_iterator(
        [scps[0]],
        preprocess_fn=None,
        collate_fn=None,
        key_file=str(keys),
        batch_size=1,
        num_workers=0,
        inference=True,
    )
    assert [k for keys_, _ in it for k in keys_] == ["u2", "u1"]
    assert [u for u, _ in it.skipped] == ["u3"]
