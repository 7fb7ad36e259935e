"""egs/own_corpus: a small folder of videos with a CSV, fine-tuned from a packed model.

The packed model is the tiny VSR model of the shared egs/grid run (test/egs/grid_model.py).
The folder holds GRID-layout synthetic clips of two speakers, the real GRID clip
``swwp2s`` and a 30 fps copy of a synthetic clip; the CSV has punctuated lower-case
transcripts, a missing file and a transcript that is only punctuation.  Stages 1-7:
preparation and normalisation, ROIs with the packed model's options (the 30 fps clip
resampled), the model's own tokens, statistics and one epoch of fine-tuning with the
visual frontend and the encoder frozen.
"""

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from grid_model import REAL, grid_archive, trained_grid_recipe

from egs_recipe import copy_recipe, recipe_env
from msrs.data import video_io
from msrs.data.datadir import read_kv
from msrs.data.grid import sentence_from_id

pytestmark = pytest.mark.slow


def _corpus(tree, root):
    """videos/<spk>/<clip>.mpg|mp4 and list.csv (module doc)."""
    rows = []
    for spk in ("s3", "s4"):
        (root / "videos" / spk).mkdir(parents=True)
        for mpg in sorted((tree / spk).glob("*.mpg")):
            shutil.copy(mpg, root / "videos" / spk)
            words = sentence_from_id(mpg.stem)
            rows.append([f"videos/{spk}/{mpg.name}", " ".join(words[:3]).lower() + ", " + " ".join(words[3:]).lower() + "!", spk])
    shutil.copy(REAL / "id2_vcd_swwp2s.mpg", root / "videos" / "s3" / "swwp2s.mpg")
    rows.append(["videos/s3/swwp2s.mpg", "Set white with P two soon.", "s3"])
    src = sorted((tree / "s4").glob("*.mpg"))[0]
    frames = video_io.read_video(src, gray=False)
    idx = np.minimum((np.arange(len(frames) * 6 // 5) * 5 // 6), len(frames) - 1)
    video_io.encode_video(root / "videos" / "s4" / "fast.mp4", frames[idx], 30,
                          video_io.read_audio(src), 16000, preset="ultrafast")  # fmt: skip
    rows.append(["videos/s4/fast.mp4", " ".join(sentence_from_id(src.stem)).title(), "s4"])
    rows.append(["videos/s4/gone.mp4", "lay red at a one again", "s4"])
    rows.append(["videos/s4/fast.mp4", "?!", "s5"])
    with open(root / "list.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "transcript", "speaker"]] + rows)
    return root / "list.csv", len(frames)


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    _, tree, _ = trained_grid_recipe(tmp_path_factory)
    archive = grid_archive(tmp_path_factory)
    base = tmp_path_factory.mktemp("own")
    table, n25 = _corpus(tree, base / "corpus")
    rec = copy_recipe("own_corpus", base)
    import subprocess

    proc = subprocess.run(
        ["bash", "./run.sh", "--stage", "1", "--stop_stage", "7", "--ngpu", "0", "--nj", "2",
         "--freeze", "video_frontend encoder", "--train_args", "--max_epoch 1",
         "--local_data_opts", "--valid_fraction 0.2 --test_fraction 0.1"],
        cwd=rec, env=recipe_env(OWN_TABLE=str(table), INIT_ARCHIVE=str(archive), NOISE_FILE=""),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-6000:]
    return rec, archive, n25, proc.stdout


def test_csv_transcripts_are_normalised_and_bad_rows_listed(finetuned):
    rec, _, _, _ = finetuned
    text = {}
    fails = {}
    for s in ("train", "valid", "test"):
        text.update(read_kv(rec / "data" / s / "text"))
        fails.update(read_kv(rec / "data" / s / "failures.txt"))
    assert text["s3_videos_s3_swwp2s"] == "SET WHITE WITH P TWO SOON"
    assert all(t == t.upper() and "," not in t and "!" not in t for t in text.values())
    assert len(text) == 8  # 3 + 3 synthetic clips, the real one, the 30 fps one
    assert "gone.mp4: file not found" in fails["s4_videos_s4_gone"]
    assert "empty transcript after normalisation" in fails["s5_videos_s4_fast"]


def test_30fps_clip_resampled_in_stage_2_with_the_model_roi_options(finetuned):
    rec, _, n25, out = finetuned
    frames = {}
    for s in ("train", "valid", "test"):
        frames.update({k: int(v) for k, v in read_kv(rec / "dump" / "raw" / s / "utt2num_frames").items()})
    assert abs(frames["s4_videos_s4_fast"] - n25) <= 1
    # the ROIs were made with the packed run's options (egs/grid run: 32 px), resampling on
    done = json.loads(next((rec / "dump" / "raw" / "train" / "jobs").glob("*/done")).read_text())
    assert done["roi"]["crop_size"] == 32 and done["roi"]["detect_every"] == 3 and done["resample_fps"]
    assert "mouth ROIs with the packed model's options" in out


def test_finetuning_starts_from_the_archive_and_keeps_frozen_parts(finetuned):
    rec, archive, _, _ = finetuned
    from msrs.utils.model_archive import unpack

    before = torch.load(unpack(archive)["asr_model_file"], map_location="cpu")
    after = torch.load(rec / "exp" / "vsr_finetune" / "valid.acc.ave.pth", map_location="cpu")
    assert set(before) == set(after)
    params = [k for k in before if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    frozen = [k for k in params if k.startswith(("video_frontend.", "encoder."))]
    trained = [k for k in params if k.startswith("decoder.")]
    assert frozen and trained
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in trained)
    # the model's own character list is used (stage 4 not rerun)
    tokens = (rec / "data" / "token_list_init" / "char" / "tokens.txt").read_text()
    assert tokens.startswith("<blank>\n") and "stage 4: token list" in finetuned[3] and "exists" in finetuned[3]
