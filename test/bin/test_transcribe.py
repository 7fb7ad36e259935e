"""``python -m msrs.bin.transcribe`` with the packed model of a real egs/grid run.

The archive comes from the tiny GRID recipe run shared with test/egs/test_grid_recipe.py
(test/egs/grid_model.py); the model is untrained for a purpose, so these tests check
the path -- ROIs from real and 30 fps video, windows, decoding settings, outputs and
errors -- not the words.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egs"))
from grid_model import REAL, grid_archive, trained_grid_recipe  # noqa: E402

from msrs.bin import transcribe  # noqa: E402
from msrs.data import video_io  # noqa: E402

pytestmark = pytest.mark.slow
CLIPS = [str(REAL / "bbaf2n.mpg"), str(REAL / "id2_vcd_swwp2s.mpg")]
# the untrained model's hypotheses run to the length limit: attention-only, beam 2 keeps it quick
FAST = ("--beam_size", "2", "--ctc_weight", "0")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return str(grid_archive(tmp_path_factory))


@pytest.fixture(scope="module")
def clip_30fps(tmp_path_factory):
    """A synthetic talking face (astronaut photo) re-encoded at 30 fps, with audio; its 25 fps frames."""
    _, tree, _ = trained_grid_recipe(tmp_path_factory)
    src = sorted((tree / "s3").glob("*.mpg"))[0]
    frames = video_io.read_video(src, gray=False)  # 25 fps
    idx = np.minimum((np.arange(int(len(frames) * 30 / 25)) * 25 / 30).astype(int), len(frames) - 1)
    out = tmp_path_factory.mktemp("fps30") / "talk_30fps.mp4"
    video_io.encode_video(out, frames[idx], 30, video_io.read_audio(src), 16000, preset="ultrafast")
    assert video_io.probe(out).fps == 30.0
    return str(out), len(frames)


def test_real_grid_clips_print_file_tab_text_with_timings_and_rois(archive, tmp_path, capsys):
    rc = transcribe.main([
        "--model_archive", archive, *CLIPS, *FAST, "--progress", "false",
        "--json", str(tmp_path / "t.json"), "--save_roi", str(tmp_path / "roi"),
    ])  # fmt: skip
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == CLIPS and all("\t" in line for line in lines)
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["load_model_seconds"] > 0
    for rec in report["files"]:
        assert rec["media_seconds"] == 3.0 and rec["source_fps"] == 25.0
        assert all(rec["seconds"][k] > 0 for k in ("decode", "detect", "align", "recognise", "total"))
    from msrs.data.roi_video import read_roi

    for clip in CLIPS:  # what the model saw: the 32 px mouth crops of stage 2, every frame
        assert read_roi(tmp_path / "roi" / f"{Path(clip).stem}_roi.mp4").shape == (75, 32, 32)


def test_decoding_and_roi_settings_come_from_the_archive(archive):
    tr = transcribe.Transcriber(archive)
    try:
        assert tr.decoder.beam_search.beam_size == 10  # egs/grid/conf/decode.yaml
        assert tr.decoder.beam_search.weights["ctc"] == pytest.approx(0.3)
        assert tr.roi.crop_size == 32 and tr.roi.detect_every == 3  # the run's --roi_opts
    finally:
        tr.close()
    tr = transcribe.Transcriber(archive, decode_overrides=dict(beam_size=2))
    assert tr.decoder.beam_search.beam_size == 2
    tr.close()


def test_30fps_video_is_resampled_and_long_input_split_in_windows(archive, clip_30fps, tmp_path, capsys):
    clip_30fps, n25 = clip_30fps
    rc = transcribe.main([
        "--model_archive", archive, clip_30fps, *FAST, "--window_s", "1.2",
        "--pause_search_s", "0.4", "--json", str(tmp_path / "t.json"), "--save_roi", str(tmp_path),
    ])  # fmt: skip
    assert rc == 0
    assert capsys.readouterr().out.startswith(f"{clip_30fps}\t")
    rec = json.loads((tmp_path / "t.json").read_text())["files"][0]
    assert rec["source_fps"] == 30.0 and rec["media_seconds"] == pytest.approx(n25 / 25, abs=0.041)
    spans = [(w["start_s"], w["end_s"]) for w in rec["windows"]]
    assert len(spans) >= 2 and spans[0][0] == 0.0 and spans[-1][1] == rec["media_seconds"]
    assert all(a[1] == b[0] and b[1] - b[0] <= 1.2 + 1e-9 for a, b in zip(spans, spans[1:]))
    from msrs.data.roi_video import read_roi

    roi = read_roi(tmp_path / "talk_30fps_roi.mp4")
    assert roi.shape[1:] == (32, 32) and abs(len(roi) - n25) <= 1  # back to the 25 fps frame count


def test_files_without_a_face_or_unreadable_are_reported_and_the_others_go_on(archive, tmp_path, capsys):
    blank = tmp_path / "blank.mp4"
    video_io.encode_video(blank, np.full((20, 64, 64, 3), 128, np.uint8), 25, preset="ultrafast")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    rc = transcribe.main(["--model_archive", archive, str(blank), str(broken), CLIPS[1], *FAST,
                          "--progress", "false"])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 1
    assert f"{blank}: no face found in any of its 20 frames" in captured.err
    assert f"{broken}: cannot open media file" in captured.err
    assert captured.out.startswith(f"{CLIPS[1]}\t")


def test_a_modality_the_model_lacks_is_refused(archive, caplog):
    assert transcribe.main(["--model_archive", archive, CLIPS[0], "--modality", "asr"]) == 2
    assert "the model is vsr; --modality asr needs" in caplog.text


@pytest.fixture(scope="module")
def avsr_archive(tmp_path_factory):
    """An untrained tiny AVSR model packed with ROI options and decoding settings."""
    import torch
    import yaml

    from msrs.bin import avsr_train
    from msrs.tasks.avsr import AVSRTask
    from msrs.tasks.avsr_testing import tiny_config, train_command, write_tiny_corpus
    from msrs.utils.model_archive import pack

    root = tmp_path_factory.mktemp("avsr_archive")
    corpus = write_tiny_corpus(root, sets=dict(train=2, valid=2))
    (root / "c.yaml").write_text(yaml.safe_dump(tiny_config("avsr")))
    avsr_train.main(train_command(corpus, root / "c.yaml", root / "exp", "avsr", extra=["--dry_run", "true"]))
    model, _ = AVSRTask.build_model_from_file(root / "exp" / "config.yaml", None, "cpu")
    torch.save(model.state_dict(), root / "model.pth")
    (root / "decode.yaml").write_text("beam_size: 2\nctc_weight: 0.0\n")
    out = root / "avsr.tar.gz"
    pack(root / "exp" / "config.yaml", root / "model.pth", out,
         inference_config=root / "decode.yaml", roi_opts="--detect_every 3 --crop_size 32")  # fmt: skip
    return str(out)


@pytest.mark.parametrize("modality", ["avsr", "vsr", "asr"])
def test_an_avsr_model_reads_both_streams_or_one(avsr_archive, modality, tmp_path, capsys):
    rc = transcribe.main(["--model_archive", avsr_archive, CLIPS[1], "--modality", modality,
                          "--progress", "false", "--json", str(tmp_path / "t.json")])  # fmt: skip
    assert rc == 0 and capsys.readouterr().out.startswith(f"{CLIPS[1]}\t")
    rec = json.loads((tmp_path / "t.json").read_text())["files"][0]
    assert rec["modality"] == modality and rec["media_seconds"] == 3.0
    assert ("detect" in rec["seconds"]) == (modality != "asr")  # audio only: the video is not read
