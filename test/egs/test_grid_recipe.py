"""egs/grid on a GRID-layout tree: synthetic speakers plus the two real GRID clips.

``GRID=<tree> ./run.sh`` runs as a user would (stages 1-11, a tiny VSR model for one
epoch): GRID parsing (speaker from the folder, transcript from the ``.align``
checked against the file name), the unseen-speaker split, MediaPipe mouth ROIs of
real GRID video, decoding and scoring of the test speakers, and packing.
"""

import json

import pytest
import yaml
from grid_model import grid_archive, run_grid, trained_grid_recipe

from egs_recipe import copy_recipe
from msrs.data.datadir import read_kv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    return trained_grid_recipe(tmp_path_factory)


def test_unseen_split_holds_out_the_test_speakers(grid_run):
    rec, tree, _ = grid_run
    spk = {s: set(read_kv(rec / "data" / f"{s}_unseen" / "utt2spk").values()) for s in ("train", "valid", "test")}
    assert spk["test"] == {"s1", "s2"}  # s20 and s22 are not in this tree
    assert spk["train"] == spk["valid"] == {"s3", "s4"}
    # transcripts from the alignments: the real clip and every synthetic one
    test_text = read_kv(rec / "data" / "test_unseen" / "text")
    assert test_text["s2_swwp2s"] == "SET WHITE WITH P TWO SOON"
    assert len(test_text) == 3 + 3 + 1
    # the clip without an alignment is listed with the reason, not dropped silently
    failures = read_kv(rec / "data" / "train_unseen" / "failures.txt")
    assert "bbaf2n.align" in failures["s9_bbaf2n"] and "not found" in failures["s9_bbaf2n"]


def test_real_grid_video_gets_mouth_rois_and_is_decoded_and_scored(grid_run):
    rec, _, out = grid_run
    from msrs.data.roi_video import read_roi

    dump = rec / "dump" / "test_unseen"
    roi = read_roi(rec / read_kv(dump / "video.scp")["s2_swwp2s"])  # relative to the recipe
    assert roi.shape == (75, 32, 32)  # 3 s at 25 fps, the --crop_size of the run
    assert not read_kv(rec / "dump" / "raw" / "test_unseen" / "failures.txt")
    decode = rec / "exp" / "unseen" / "vsr_train_vsr_tiny" / "decode_decode_test_unseen_clean"
    hyps = read_kv(decode / "1best_recog" / "text")
    assert "s2_swwp2s" in hyps and len(hyps) == 7
    scores = json.loads((decode / "score" / "scores.json").read_text())
    assert scores["n_utts"] == 7
    assert "test_unseen clean" in out and "Sum/Avg" in out


def test_archive_keeps_the_recipe_decoding_and_roi_settings(tmp_path_factory):
    import tarfile

    with tarfile.open(grid_archive(tmp_path_factory)) as tar:
        meta = yaml.safe_load(tar.extractfile("meta.yaml").read())
    assert meta["decode"]["beam_size"] == 10 and meta["decode"]["ctc_weight"] == 0.3  # conf/decode.yaml
    assert meta["roi_opts"] == "--detect_every 3 --crop_size 32 --roi_format mp4"


def test_overlapped_split_beside_the_unseen_one(grid_run, tmp_path):
    rec, tree, _ = grid_run
    proc = run_grid(rec, tree, "--split", "overlapped", "--stage", "1", "--stop_stage", "1",
                    "--local_data_opts", "--test_per_speaker 1 --valid_per_speaker 1", timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    utt2spk = read_kv(rec / "data" / "test_overlapped" / "utt2spk")
    assert sorted(utt2spk.values()) == ["s1", "s2", "s3", "s4"]  # one sentence of every speaker
    assert (rec / "data" / "test_unseen" / "text").is_file()  # the other split is kept


def test_missing_grid_copy_is_a_clear_error(tmp_path):
    rec = copy_recipe("grid", tmp_path)
    proc = run_grid(rec, tmp_path / "no_such_grid", "--stage", "1", "--stop_stage", "1", timeout=120)
    assert proc.returncode != 0
    assert "no_such_grid" in proc.stdout and "not found" in proc.stdout
