"""Tests of msrs.utils.distributed with a real two-rank gloo process group."""

import json
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from msrs.utils.distributed import close_process_group


def _rank_main(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    if rank == 0:  # rank 0 still averages models after the last epoch
        time.sleep(1.5)
    before = time.time()
    close_process_group()
    record = dict(before=before, after=time.time(), initialized=dist.is_initialized())
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(record, f)


def test_close_process_group_waits_for_rank0_and_destroys_the_group(tmp_path):
    with socket.socket() as sock:  # a free port for the gloo rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_rank_main, args=(port, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # rank 1 arrived first and left only once rank 0 had finished its work
    assert r1["before"] < r0["before"]
    assert r1["after"] >= r0["before"]
    assert not r0["initialized"] and not r1["initialized"]


def test_close_process_group_without_a_group_is_a_no_op():
    assert not dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()
    assert torch.distributed.is_available()
