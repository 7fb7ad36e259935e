"""One run of egs/grid on a GRID-layout tree, shared by the recipe and transcribe tests.

The tree is the synthetic corpus in GRID's layout (speakers ``s1``-``s4``, three
``.mpg`` + ``.align`` each) plus the two real GRID clips of ``test/data/grid``:
``swwp2s`` with its alignment as a clip of ``s2`` (a test speaker of the unseen
split) and ``bbaf2n`` without one as ``s9`` (it must be listed as a failure).
The recipe runs every stage (1-11) with a tiny VSR model trained for one epoch,
so its packed archive is a real one; the run happens once per test session
(kept in a module global, since both test modules import this helper).
"""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Tuple

import yaml
from egs_recipe import ROOT, copy_recipe, recipe_env

REAL = ROOT / "test" / "data" / "grid"
ROI_OPTS = "--detect_every 3 --crop_size 32 --roi_format mp4"
_RUNS: Dict[str, Tuple[Path, Path, str]] = {}


def grid_tree(root: Path) -> Path:
    """The synthetic GRID-layout tree plus the real clips (module doc)."""
    tree = root / "GRID"
    proc = subprocess.run(
        [sys.executable, "-m", "msrs.bin.synth_corpus", "--out", str(tree), "--layout", "grid",
         "--num_train_speakers", "4", "--num_test_speakers", "0", "--trainval_per_speaker", "3",
         "--babble_seconds", "0", "--write_landmarks", "false", "--nj", "2", "--progress", "false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    shutil.copy(REAL / "id2_vcd_swwp2s.mpg", tree / "s2")
    shutil.copy(REAL / "swwp2s.align", tree / "alignments" / "s2")
    (tree / "s9").mkdir()
    shutil.copy(REAL / "bbaf2n.mpg", tree / "s9")
    return tree


def run_grid(rec: Path, tree: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "./run.sh", *args], cwd=rec, env=recipe_env(GRID=str(tree), NOISE_FILE=""),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )  # fmt: skip


def trained_grid_recipe(tmp_path_factory) -> Tuple[Path, Path, str]:
    """``(recipe dir, GRID tree, run.sh output)`` after stages 1-11 (run once)."""
    if "run" not in _RUNS:
        from msrs.tasks.avsr_testing import tiny_config

        base = tmp_path_factory.mktemp("grid")
        tree = grid_tree(base)
        rec = copy_recipe("grid", base)
        conf = tiny_config("vsr", max_epoch=1, keep_nbest_models=1)
        (rec / "conf" / "train_vsr_tiny.yaml").write_text(yaml.safe_dump(conf))
        proc = run_grid(
            rec, tree, "--nj", "2", "--ngpu", "0", "--gpu_inference", "false",
            "--inference_nj", "1", "--train_config", "conf/train_vsr_tiny.yaml",
            "--roi_opts", ROI_OPTS, "--local_data_opts", "--valid_per_speaker 1",
            "--inference_args", "--beam_size 2 --ctc_weight 0 --maxlenratio 0.5",  # an untrained model: keep it short
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-6000:]
        _RUNS["run"] = (rec, tree, proc.stdout)
    return _RUNS["run"]


def grid_archive(tmp_path_factory) -> Path:
    rec, _, _ = trained_grid_recipe(tmp_path_factory)
    return rec / "exp" / "unseen" / "vsr_train_vsr_tiny" / "model.tar.gz"
