"""Stage 2 on real media: dumps, failures, resume, shards, landmarks, AVSR loaders."""

import numpy as np
import pytest
import soundfile

from msrs.data import video_io
from msrs.data.datadir import DataDir, read_kv
from msrs.data.extract import ExtractConfig, extract, find_landmark_file, merge, run_job
from msrs.data.lrs3_prep import prepare_lrs3
from msrs.data.roi import RoiConfig

FAST = RoiConfig(detect_every=3)


@pytest.fixture(scope="module")
def micro_data(micro_corpus, tmp_path_factory):
    """data/{train,valid,test} of the micro corpus, pretrain cut into <= 3 s pieces."""
    out = tmp_path_factory.mktemp("data")
    counts = prepare_lrs3(
        micro_corpus,
        out,
        max_duration=3.0,
        valid_fraction=0.5,
        progress=False,
        nj=1,
        valid_mode="speakers",
    )
    assert counts["failed_clips"] == 0
    return out


@pytest.fixture(scope="module")
def test_dump(micro_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("dump") / "test"
    result = extract(
        micro_data / "test", out, ExtractConfig(roi=FAST), nj=1, progress=False
    )
    return out, result


def test_dump_follows_the_contract(test_dump, micro_data):
    out, result = test_dump
    assert result["failed"] == 0 and result["utterances"] == 2
    dump = DataDir.load(out)
    assert list(dump.video) == sorted(dump.video)
    assert dump.text == DataDir.load(micro_data / "test").text
    for utt, path in dump.video.items():
        roi = np.load(path)
        assert roi.dtype == np.uint8 and roi.shape[1:] == (96, 96)
        assert (
            roi.shape[0]
            == dump.utt2num_frames[utt]
            == video_io.probe(DataDir.load(micro_data / "test").video[utt]).num_frames
        )
        wav, sr = soundfile.read(dump.wav[utt], dtype="int16")
        assert sr == 16000 and len(wav) == 640 * roi.shape[0]
        assert soundfile.info(dump.wav[utt]).subtype == "PCM_16"
        assert roi.std() > 10  # a face, not a flat image
    assert (out / "failures.txt").read_text() == ""
    assert (out / "spk2utt").is_file()


def test_segments_of_pretrain_are_cut_by_frames(micro_data, tmp_path):
    data = DataDir.load(micro_data / "train")
    seg_utts = [u for u, s in data.segments.items() if u != s.rec][:2]
    assert seg_utts, "the 3 s limit must cut the two-sentence pretrain clips"
    rec = data.segments[seg_utts[0]].rec
    sub = data.subset([u for u, s in data.segments.items() if s.rec == rec])
    sub.save(tmp_path / "data")
    result = extract(
        tmp_path / "data", tmp_path / "dump", ExtractConfig(roi=FAST), progress=False
    )
    assert result["failed"] == 0
    frames = read_kv(tmp_path / "dump" / "utt2num_frames")
    for utt, seg in sub.segments.items():
        assert int(frames[utt]) == int(seg.end * 25 + 1e-6) - int(seg.start * 25 + 1e-6)
    total = video_io.probe(sub.video[rec]).num_frames
    assert sum(int(v) for v in frames.values()) <= total


def _broken_data(root, media):
    """A data dir with one good clip and one of each failure kind."""
    face_clip, tone, write_clip = media.face_clip, media.tone, media.write_clip
    frames, _ = face_clip(12)
    good = write_clip(root, "trainval", "spkA", "50001", frames, tone(12), "HELLO")
    noaudio = write_clip(root, "trainval", "spkA", "50002", frames, None, "NO AUDIO")
    blank = np.full((12, 96, 96, 3), 120, np.uint8)
    noface = write_clip(root, "trainval", "spkA", "50003", blank, tone(12), "NO FACE")
    short = write_clip(root, "trainval", "spkA", "50004", frames[:3], tone(3), "SHORT")
    empty = write_clip(root, "trainval", "spkA", "50005", frames, tone(12), "HELLO")
    video_io.encode_video(
        root / "trainval" / "spkA" / "50007.mp4",
        frames,
        30,
        tone(12),
        preset="ultrafast",
    )
    corrupt = root / "trainval" / "spkA" / "50006.mp4"
    corrupt.write_bytes(good.read_bytes()[:600])
    media = {
        "50001": good,
        "50002": noaudio,
        "50003": noface,
        "50004": short,
        "50005": empty,
        "50006": corrupt,
        "50007": root / "trainval" / "spkA" / "50007.mp4",
    }
    d = DataDir()
    for clip, path in media.items():
        utt = f"spkA_trainval_{clip}"
        d.text[utt] = "" if clip == "50005" else "SOME WORDS"
        d.utt2spk[utt] = "spkA"
        d.video[utt] = d.wav[utt] = str(path)
    d.save(root / "data")
    return root / "data"


def test_each_failure_is_recorded_and_the_rest_finishes(tmp_path, media):
    data = _broken_data(tmp_path, media)
    out = tmp_path / "dump"
    summary = run_job(data, out, 1, 1, ExtractConfig(roi=FAST), progress=False)
    assert summary["done"] == 1 and summary["failed"] == 6
    merged = merge(data, out, 1)
    assert merged["utterances"] == 1
    reasons = read_kv(out / "failures.txt")
    assert (
        "no audio stream" in reasons["spkA_trainval_50002"]
        and "50002.mp4" in reasons["spkA_trainval_50002"]
    )
    assert "no face detected in any of 12 frames" in reasons["spkA_trainval_50003"]
    assert "50003.mp4" in reasons["spkA_trainval_50003"]  # the file is named
    assert reasons["spkA_trainval_50004"].startswith("too short: 3 video frames")
    assert reasons["spkA_trainval_50005"] == "empty transcript"
    assert "50006.mp4" in reasons["spkA_trainval_50006"]
    assert "video is 30.000 fps, msrs expects 25 fps" in reasons["spkA_trainval_50007"]
    assert list(read_kv(out / "video.scp")) == ["spkA_trainval_50001"]
    # rerun: the finished utterance is skipped (no frames processed), failures retried
    again = run_job(data, out, 1, 1, ExtractConfig(roi=FAST), progress=False)
    assert again["done"] == 1 and again["frames"] == 0 and again["failed"] == 6


def test_shards_merge_to_the_single_job_result(micro_data, test_dump, tmp_path):
    single_out, _ = test_dump
    out = tmp_path / "sharded"
    for j in (1, 2):
        run_job(micro_data / "test", out, j, 2, ExtractConfig(roi=FAST), progress=False)
    with pytest.raises(RuntimeError, match=r"job\(s\) \[2, 3\] of 3 did not finish"):
        run_job(micro_data / "test", out, 1, 3, ExtractConfig(roi=FAST), progress=False)
        merge(micro_data / "test", out, 3)
    merge(micro_data / "test", out, 2)
    assert read_kv(out / "utt2num_frames") == read_kv(single_out / "utt2num_frames")
    for utt, path in read_kv(out / "video.scp").items():
        np.testing.assert_array_equal(
            np.load(path), np.load(read_kv(single_out / "video.scp")[utt])
        )


def test_precomputed_landmarks_and_mp4_rois(
    micro_corpus, micro_data, test_dump, tmp_path
):
    test_set = DataDir.load(micro_data / "test")
    media = next(iter(test_set.video.values()))
    assert find_landmark_file(micro_corpus / "landmarks", media).suffix == ".pkl"
    cfg = ExtractConfig(
        roi=RoiConfig(detector="none"),
        landmarks_dir=str(micro_corpus / "landmarks"),
        roi_format="mp4",
        roi_crf=0,
    )
    result = extract(micro_data / "test", tmp_path / "lm", cfg, progress=False)
    assert result["failed"] == 0
    from msrs.data.landmarks import load_landmarks
    from msrs.data.roi import MouthRoiExtractor

    for utt, path in read_kv(tmp_path / "lm" / "video.scp").items():
        assert path.endswith(".mp4")
        roi = video_io.read_video(path)  # gray, (T, 96, 96)
        src = test_set.video[utt]
        expected = MouthRoiExtractor(RoiConfig(detector="none")).extract(
            video_io.read_video(src),
            landmarks=load_landmarks(
                find_landmark_file(micro_corpus / "landmarks", src)
            ),
        )
        assert roi.shape == expected.shape
        # the stored true keypoints were used; full-range grey H.264 at CRF 0
        # is lossless
        assert np.array_equal(roi, expected)
        # and they centre the lips: darker than the cheeks
        assert roi[:, 40:56, 30:66].mean() < roi[:, 40:56, :12].mean() - 15
    # a missing landmark file without a detector is a recorded failure (when
    # the share of missing files is tolerated)
    cfg_missing = ExtractConfig(
        roi=RoiConfig(detector="none"),
        landmarks_dir=str(tmp_path),
        max_missing_landmarks=1.0,
    )
    result = extract(
        micro_data / "test", tmp_path / "nolm", cfg_missing, progress=False
    )
    assert result["failed"] == 2
    assert "no landmark file" in next(
        iter(read_kv(tmp_path / "nolm" / "failures.txt").values())
    )


def test_dumps_load_through_the_avsr_task_loaders(test_dump):
    from msrs.utils.espnet_import import import_espnet

    avsr_data = import_espnet("msrs.tasks.avsr_data")
    dataset_mod = import_espnet("espnet2.train.dataset")
    avsr_data.register_video_type()
    out, _ = test_dump
    ds = dataset_mod.ESPnetDataset(
        [
            (str(out / "video.scp"), "video", "video"),
            (str(out / "wav.scp"), "speech", "sound"),
        ],
    )
    frames = read_kv(out / "utt2num_frames")
    for utt in read_kv(out / "video.scp"):
        uid, item = ds[utt]
        t = int(frames[utt])
        assert item["video"].shape == (t, 96, 96) and item["video"].dtype == np.float32
        assert 0 <= item["video"].min() and item["video"].max() <= 255
        assert item["speech"].shape == (640 * t,) and item["speech"].dtype == np.float32
        assert uid == utt


def test_missing_landmark_files_are_counted_and_too_many_stop_the_job(
    micro_corpus, micro_data, tmp_path
):
    import shutil

    from msrs.data.landmarks import LandmarkCoverageError

    test_set = DataDir.load(micro_data / "test")
    lm = tmp_path / "landmarks"
    shutil.copytree(micro_corpus / "landmarks", lm)
    rec, media = sorted(test_set.video.items())[0]
    find_landmark_file(lm, media).unlink()
    # 1 of the 2 recordings lacks a file: 50% > the 5% default stops before any work
    with pytest.raises(LandmarkCoverageError, match=r"no landmark file for 1 of 2 recordings \(50.0%"):
        extract(micro_data / "test", tmp_path / "a", ExtractConfig(roi=FAST, landmarks_dir=str(lm)), progress=False)
    assert not list((tmp_path / "a").glob("data/*/*"))
    # a wrong root: every recording is missing, the message says where it looked
    with pytest.raises(LandmarkCoverageError, match="2 of 2 recordings.*looked up as"):
        extract(micro_data / "test", tmp_path / "b", ExtractConfig(roi=FAST, landmarks_dir=str(tmp_path)), progress=False)
    # tolerated: the detector fills in, and the fallback is counted and listed
    cfg = ExtractConfig(roi=FAST, landmarks_dir=str(lm), max_missing_landmarks=0.5)
    result = extract(micro_data / "test", tmp_path / "c", cfg, progress=False)
    assert result["failed"] == 0 and result["landmark_fallbacks"] == 1
    assert read_kv(tmp_path / "c" / "landmark_fallbacks.txt") == {rec: media}
    with pytest.raises(ValueError, match="--max_missing_landmarks must be in 0..1"):
        ExtractConfig(max_missing_landmarks=5)


def test_no_face_fallback_gives_test_utterances_a_centre_crop(tmp_path, media, caplog):
    """Issue 13, failure 4: a test utterance without a face is not dropped but
    centre-cropped with a warning and listed; reruns keep the list."""
    import logging

    data = _broken_data(tmp_path, media)
    out = tmp_path / "dump"
    cfg = ExtractConfig(roi=FAST, no_face_fallback="centre_crop")
    with caplog.at_level(logging.WARNING):
        summary = run_job(data, out, 1, 1, cfg, progress=False)
    assert summary["done"] == 2 and summary["failed"] == 5
    assert "spkA_trainval_50003" in caplog.text and "centre crop used" in caplog.text
    merge(data, out, 1)
    roi = np.load(read_kv(out / "video.scp")["spkA_trainval_50003"])
    assert roi.shape[0] == 12 and roi.dtype == np.uint8
    listed = read_kv(out / "no_face_fallbacks.txt")
    assert list(listed) == ["spkA_trainval_50003"] and "50003.mp4" in listed["spkA_trainval_50003"]
    run_job(data, out, 1, 1, cfg, progress=False)  # rerun: output skipped, still listed
    merge(data, out, 1)
    assert list(read_kv(out / "no_face_fallbacks.txt")) == ["spkA_trainval_50003"]
    with pytest.raises(ValueError, match="no_face_fallback"):
        ExtractConfig(no_face_fallback="blur")
