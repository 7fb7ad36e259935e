import os

import pytest
import torch

from msrs.sparse import MSRSSparsity, StaticSparsity
from msrs.sparse.squash import (
    compress_state_dict,
    decompress_state_dict,
    load_state_dict_file,
    squash_state_dict,
)
from sparse_toy import ToyModel, attached, batch, make_optimizer, train


@pytest.mark.parametrize("phase", ["search", "sparse"])
def test_squashed_state_dict_loads_into_plain_architecture(phase):
    model, sp = attached(MSRSSparsity, penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step"}, {"name": "sparse"}])
    opt = make_optimizer(model, sp)
    train(model, opt, sp, 2 if phase == "search" else 6)
    assert sp.phase == phase
    plain = ToyModel()
    squashed = squash_state_dict(model.state_dict())
    plain.load_state_dict(squashed)  # strict, no msrs involved
    assert not any("parametrizations" in k or k.startswith("sparsity.") for k in squashed)
    model.eval()
    plain.eval()
    x, y = batch(5)
    with sp.penalty_disabled():
        assert torch.allclose(model(x, y)[0], plain(x, y)[0], atol=1e-6)
    for t in sp.targets:
        assert torch.equal(squashed[t.name], t.module.weight.detach())


def test_compressed_file_is_smaller_and_exact(tmp_path):
    torch.manual_seed(0)
    big = torch.nn.Linear(256, 256)  # enough weights for sizes to matter
    sp2 = StaticSparsity(density=0.1)
    holder = torch.nn.Module()
    holder.fc = big
    sp2.attach(holder)
    squashed = squash_state_dict(holder.state_dict())
    torch.save(squashed, tmp_path / "dense.pth")
    torch.save(compress_state_dict(squashed), tmp_path / "sparse.pth")
    assert os.path.getsize(tmp_path / "sparse.pth") < 0.3 * os.path.getsize(tmp_path / "dense.pth")
    back = load_state_dict_file(tmp_path / "sparse.pth")
    assert list(back) == list(squashed)
    assert all(torch.equal(back[k], squashed[k]) for k in squashed)
    plain = torch.nn.Module()
    plain.fc = torch.nn.Linear(256, 256)
    plain.load_state_dict(back)


def test_load_state_dict_file_formats_and_errors(tmp_path):
    sd = ToyModel().state_dict()
    torch.save({"model": sd, "reporter": {}}, tmp_path / "checkpoint.pth")
    assert set(load_state_dict_file(tmp_path / "checkpoint.pth")) == set(sd)
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth"):
        load_state_dict_file(tmp_path / "junk.pth")
    with pytest.raises(ValueError, match="format"):
        decompress_state_dict({"format": "other"})
