"""SparseASRTask: ESPnet's ASR task with --sparsity and MsrsTrainer."""

import importlib.util
import io
import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from msrs.sparse import sparsity_choices
from msrs.sparse.trainer import MsrsTrainer
from msrs.tasks.asr import SparseASRTask

_spec = importlib.util.spec_from_file_location(
    "espnet_asr_helper", Path(__file__).resolve().parents[1] / "sparse" / "sparse_espnet_asr.py"
)
helper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helper)


def test_task_wiring():
    assert SparseASRTask.trainer is MsrsTrainer
    assert sparsity_choices in SparseASRTask.class_choices_list
    parser = SparseASRTask.get_parser()
    args = parser.parse_args(["--sparsity", "rigl", "--sparsity_conf", "{density: 0.2}", "--grad_flow_interval", "5"])
    assert args.sparsity == "rigl" and args.sparsity_conf == {"density": 0.2} and args.grad_flow_interval == 5
    with pytest.raises(SystemExit):
        with contextlib.redirect_stderr(io.StringIO()):
            parser.parse_args(["--sparsity", "lottery"])


def test_print_config_lists_sparsity_and_trainer_options():
    # ESPnet's print_config reads sys.argv and the import-time stdout: use the real CLI
    out = subprocess.run(
        [sys.executable, "-m", "msrs.bin.asr_train", "--print_config", "--sparsity", "msrs"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    cfg = yaml.safe_load(out.stdout)
    assert cfg["sparsity"] == "msrs" and cfg["grad_flow_interval"] == 0
    assert cfg["sparsity_conf"]["penalty"] == "logits" and cfg["sparsity_conf"]["phi_init"] == 0.0


def test_build_model_with_and_without_sparsity(tmp_path):
    helper.write_corpus(tmp_path, n_utts=2)
    args = SparseASRTask.get_parser().parse_args(helper.train_cmd(tmp_path, tmp_path / "exp"))
    model = SparseASRTask.build_model(args)
    assert getattr(model, "sparsity", None) is None
    assert not any("parametrizations" in k for k in model.state_dict())
    args = SparseASRTask.get_parser().parse_args(helper.train_cmd(tmp_path, tmp_path / "exp", "static", {"density": 0.5}))
    model = SparseASRTask.build_model(args)
    assert abs(model.sparsity.global_density() - 0.5) < 0.01


def test_train_then_load_averaged_model_for_inference(tmp_path):
    from msrs.bin.asr_train import main

    helper.write_corpus(tmp_path)
    out = tmp_path / "exp"
    conf = {"density": 0.4, "phases": [{"name": "evolve", "end": 1, "interval": 2}, {"name": "sparse"}]}
    main(helper.train_cmd(tmp_path, out, "rigl", conf, max_epoch=2))
    model, args = SparseASRTask.build_model_from_file(out / "config.yaml", out / "valid.acc.ave.pth", "cpu")
    sp = model.sparsity
    assert sp.phase == "sparse" and abs(sp.global_density() - 0.4) < 0.01
    for t in sp.targets:
        m = t.parametrization.mask.bool()
        assert torch.equal(t.module.weight[~m], torch.zeros_like(t.module.weight[~m]))
