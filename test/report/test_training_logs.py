import datetime
import json

import torch
from espnet2.train.reporter import Reporter

from msrs.report.training_logs import (
    find_event,
    load_epoch_stats,
    load_grad_flow,
    load_sparsity,
    parse_train_log,
    stats_from_reporter_state,
)


def _reporter(n=3):
    r = Reporter()
    for epoch in range(1, n + 1):
        r.set_epoch(epoch)
        with r.observe("train") as sub:
            sub.register(
                {"loss": torch.tensor(10.0 / epoch), "acc": 0.1 * epoch}, weight=2
            )
            sub.next()
        with r.observe("valid") as sub:
            sub.register({"loss": 12.0 / epoch, "acc": 0.1 * epoch - 0.05})
            sub.next()
    return r


def test_reporter_state_and_train_log_agree(tmp_path):
    r = _reporter()
    stats = stats_from_reporter_state(r.state_dict())
    assert sorted(stats) == [1, 2, 3]
    assert (
        stats[2]["train"]["loss"] == 5.0 and abs(stats[3]["valid"]["acc"] - 0.25) < 1e-9
    )
    assert isinstance(stats[1]["train"]["time"], float)  # timedelta -> seconds
    # A duration with a comma must not break parsing of the following keys.
    r.stats[3]["train"]["time"] = datetime.timedelta(hours=1, minutes=2, seconds=3)
    log = "\n".join(f"[h] x (trainer:1) INFO: {r.log_message(e)}" for e in (1, 2, 3))
    assert "1 hour, 2 minutes" in log
    (tmp_path / "train.log").write_text(log)
    parsed = parse_train_log(tmp_path / "train.log")
    for e in (1, 2, 3):
        for phase in ("train", "valid"):
            for key in ("loss", "acc"):
                assert abs(parsed[e][phase][key] - stats[e][phase][key]) < 1e-3
    assert parsed[3]["train"]["total_count"] == 3


def test_load_epoch_stats_prefers_checkpoint_then_log(tmp_path):
    r = _reporter(2)
    torch.save(
        {"model": {}, "reporter": r.state_dict(), "optimizers": []},
        tmp_path / "checkpoint.pth",
    )
    stats, source, ckpt = load_epoch_stats(tmp_path)
    assert (
        source.endswith("checkpoint.pth")
        and sorted(stats) == [1, 2]
        and ckpt is not None
    )
    (tmp_path / "checkpoint.pth").write_bytes(b"corrupt")
    (tmp_path / "train.log").write_text(r.log_message(1) + "\n")
    stats, source, _ = load_epoch_stats(tmp_path)
    assert source.endswith("train.log") and sorted(stats) == [1]


def test_jsonl_skips_broken_lines_and_keeps_last_record(tmp_path, caplog):
    lines = [
        {"epoch": 1, "global_density": 0.9, "layers": {}},
        {"epoch": 2, "global_density": 0.8, "layers": {}},
        {
            "epoch": 2,
            "global_density": 0.7,
            "layers": {},
        },  # resumed run rewrote epoch 2
    ]
    (tmp_path / "sparsity.jsonl").write_text(
        "\n".join(json.dumps(x) for x in lines) + '\n[1, 2]\n{"epoch": 3, "glo'
    )
    recs = load_sparsity(tmp_path)
    assert [r["epoch"] for r in recs] == [1, 2] and recs[1]["global_density"] == 0.7
    assert "sparsity.jsonl:5" in caplog.text and "sparsity.jsonl:4" in caplog.text
    assert load_grad_flow(tmp_path) == []


def test_find_event_layouts():
    assert find_event({"freeze_epoch": 4}, "freeze_epoch") == 4.0
    assert find_event({"freeze": {"epoch": 5, "step": 9}}, "freeze_epoch") == 5.0
    assert find_event({"msrs": {"freeze_step": 7}}, "freeze_step") == 7.0
    assert find_event({"other": 1}, "freeze_epoch") is None
