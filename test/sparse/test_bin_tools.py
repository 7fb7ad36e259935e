"""python -m msrs.bin.sparsity_report / msrs.bin.squash (tests of the sparsity CLIs)."""

import copy
import os

import torch

from msrs.bin import sparsity_report, squash
from msrs.sparse import RigLSparsity, StaticSparsity
from msrs.sparse.squash import load_state_dict_file
from sparse_toy import ToyModel, attached, make_optimizer, train


def _big_sparse_model():
    torch.manual_seed(0)
    holder = torch.nn.Module()
    holder.fc1 = torch.nn.Linear(256, 256)
    holder.fc2 = torch.nn.Linear(256, 128)
    sp = StaticSparsity(density=0.1)
    sp.attach(holder)
    return holder, sp


def test_sparsity_report_prints_table_and_json(tmp_path, capsys):
    model, sp = attached(StaticSparsity, density=0.25)
    torch.save(model.state_dict(), tmp_path / "m.pth")
    assert sparsity_report.main([str(tmp_path / "m.pth"), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "enc.0.weight" in out and "fixed" in out
    assert f"density {sp.global_density():.4f}" in out
    import json

    rep = json.loads((tmp_path / "r.json").read_text())
    assert abs(rep["global_density"] - sp.global_density()) < 1e-9
    assert {r["name"] for r in rep["layers"]} >= {t.name for t in sp.targets}


def test_sparsity_report_on_espnet_checkpoint_and_bad_file(tmp_path, capsys):
    model, sp = attached(RigLSparsity, density=0.3, phases=[{"name": "evolve", "end": 4, "unit": "step", "interval": 2}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 5)
    states = [copy.deepcopy(model.state_dict())]
    train(model, opt, sp, 2, start=5)
    states.append(copy.deepcopy(model.state_dict()))
    avg = {k: (states[0][k] + states[1][k]) if str(v.dtype).startswith("torch.int") else (states[0][k] + states[1][k]) / 2
           for k, v in states[0].items()}
    torch.save({"model": avg, "reporter": {}}, tmp_path / "checkpoint.pth")
    assert sparsity_report.main([str(tmp_path / "checkpoint.pth")]) == 0
    assert f"density {sp.global_density():.4f}" in capsys.readouterr().out  # averaged masks re-binarised
    (tmp_path / "bad.pth").write_bytes(b"\x00garbage")
    assert sparsity_report.main([str(tmp_path / "bad.pth")]) == 1
    assert "bad.pth" in capsys.readouterr().err


def test_squash_cli_plain_and_compressed(tmp_path, capsys):
    holder, sp = _big_sparse_model()
    torch.save(holder.state_dict(), tmp_path / "masked.pth")
    assert squash.main([str(tmp_path / "masked.pth"), str(tmp_path / "plain.pth")]) == 0
    assert squash.main([str(tmp_path / "masked.pth"), str(tmp_path / "small.pth"), "--compress"]) == 0
    assert "compressed" in capsys.readouterr().out
    plain = torch.nn.Module()
    plain.fc1, plain.fc2 = torch.nn.Linear(256, 256), torch.nn.Linear(256, 128)
    plain.load_state_dict(torch.load(tmp_path / "plain.pth"))  # plain torch, strict
    assert torch.equal(plain.fc1.weight, holder.fc1.weight)
    back = load_state_dict_file(tmp_path / "small.pth")
    assert all(torch.equal(back[k], v) for k, v in plain.state_dict().items())
    assert os.path.getsize(tmp_path / "small.pth") < 0.35 * os.path.getsize(tmp_path / "plain.pth")
    assert squash.main([str(tmp_path / "missing.pth"), str(tmp_path / "x.pth")]) == 1


def test_dense_checkpoint_passes_through_squash(tmp_path):
    m = ToyModel()
    torch.save(m.state_dict(), tmp_path / "d.pth")
    assert squash.main([str(tmp_path / "d.pth"), str(tmp_path / "o.pth")]) == 0
    out = torch.load(tmp_path / "o.pth")
    assert list(out) == list(m.state_dict())
