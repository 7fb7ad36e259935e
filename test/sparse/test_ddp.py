"""Under DDP (2 CPU processes, gloo) every rank holds the identical mask."""

import os
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HERE = os.path.dirname(os.path.abspath(__file__))

CONFS = {
    "msrs": dict(penalty_weight=0.05, phases=[
        {"name": "search", "end": 4, "unit": "step", "temperature": {"per": "step"}}, {"name": "sparse"}]),
    "rigl": dict(density=0.3, phases=[{"name": "evolve", "end": 8, "unit": "step", "interval": 2}, {"name": "sparse"}]),
    "set": dict(density=0.3, phases=[
        {"name": "evolve", "end": 8, "unit": "step", "interval": 2, "interval_unit": "step"}, {"name": "sparse"}]),
    "snip": dict(density=0.3),
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, out_dir):
    sys.path.insert(0, HERE)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from msrs.sparse import sparsity_choices
    from sparse_toy import ToyModel, batch, make_optimizer

    result = {}
    for name, conf in CONFS.items():
        torch.manual_seed(0)
        model = ToyModel()
        sp = sparsity_choices.get_class(name)(**conf)
        sp.attach(model)
        assert any(n.endswith(".mask") for n in model._ddp_params_and_buffers_to_ignore)
        ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        opt = make_optimizer(model, sp)
        for step in range(12):
            x, y = batch(100 * rank + step, n=8)  # every rank sees different data
            loss, stats, _ = ddp(x, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        result[name] = {
            "phase": sp.phase,
            "masks": [t.parametrization.mask.clone() for t in sp.targets],
            "weights": [t.module.weight.detach().clone() for t in sp.targets],
            "density": sp.global_density(),
        }
    torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


@pytest.mark.slow
def test_masks_identical_on_every_rank(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    for name in CONFS:
        assert r0[name]["phase"] == r1[name]["phase"] == "sparse", name
        for a, b in zip(r0[name]["masks"], r1[name]["masks"]):
            assert torch.equal(a, b), name
        for a, b in zip(r0[name]["weights"], r1[name]["weights"]):
            assert torch.equal(a, b), name
        assert 0.0 < r0[name]["density"] < 1.0


_WRAPPER = """
import sys, torch
from msrs.sparse.trainer import MsrsTrainer
from msrs.tasks.asr import SparseASRTask

_run = MsrsTrainer.run.__func__


def run(cls, model, *args, **kwargs):
    rank = torch.distributed.get_rank()  # run destroys the process group at its end
    _run(cls, model, *args, **kwargs)
    torch.save(model.state_dict(), sys.argv[1] + f"/rank{rank}.pth")


MsrsTrainer.run = classmethod(run)
SparseASRTask.main(cmd=sys.argv[2:])
"""


@pytest.mark.slow
def test_espnet_ddp_training_on_cpu_keeps_ranks_identical(tmp_path):
    """ESPnet's own distributed path (external launcher env, gloo, --ngpu 0)."""
    import subprocess

    sys.path.insert(0, HERE)
    from sparse_espnet_asr import train_cmd, write_corpus

    write_corpus(tmp_path)
    conf = dict(penalty_weight=0.1, phases=[{"name": "search", "end": 1}, {"name": "sparse"}])
    cmd = train_cmd(tmp_path, tmp_path / "exp", "msrs", conf, max_epoch=2, extra=[
        "--multiprocessing_distributed", "false", "--dist_backend", "gloo", "--batch_size", "4"])
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = dict(os.environ, WORLD_SIZE="2", RANK=str(rank), LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1")
        log = open(tmp_path / f"log{rank}.txt", "w")
        procs.append(subprocess.Popen([sys.executable, "-c", _WRAPPER, str(tmp_path)] + cmd,
                                      env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd()))
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0, 0], (tmp_path / "log0.txt").read_text()[-3000:]
    s0 = torch.load(tmp_path / "rank0.pth", weights_only=False)
    s1 = torch.load(tmp_path / "rank1.pth", weights_only=False)
    assert int(s0["sparsity.phase_index"]) == 1
    masks = [k for k in s0 if k.endswith(".mask")]
    assert masks
    for k in s0:
        assert torch.equal(s0[k], s1[k]), k
    assert "unused_parameters=True" in (tmp_path / "log0.txt").read_text()
