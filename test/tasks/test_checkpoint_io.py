"""Crash-safe checkpoints: atomic writes, resume fallback, safe averaging."""

import logging
from pathlib import Path

import pytest
import torch
import yaml
from espnet2.train.reporter import Reporter

from msrs.bin import avsr_train
from msrs.tasks import checkpoint_io as cio
from msrs.tasks.avsr_testing import (
    tiny_config,
    train_command,
    write_shape_files,
    write_tiny_corpus,
)


def _truncate(path: Path, size: int = 0) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:size])


def test_atomic_save_killed_mid_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint.pth"
    cio.atomic_save({"epoch": 1}, target)
    real_save = torch.save

    def dying_save(obj, f, **kw):  # writes half a file, then "gets killed"
        real_save(obj, f, **kw)
        f.truncate(10)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        cio.atomic_save({"epoch": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=False) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pth"]


def test_checkpoint_problem_names_truncated_and_empty(tmp_path):
    good = tmp_path / "1epoch.pth"
    torch.save({"w": torch.arange(1000.0)}, good)
    assert cio.checkpoint_problem(good) is None
    half = tmp_path / "2epoch.pth"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "unreadable" in cio.checkpoint_problem(half)
    empty = tmp_path / "3epoch.pth"
    empty.write_bytes(b"")
    assert cio.checkpoint_problem(empty) == "empty (0 bytes)"
    assert cio.checkpoint_problem(tmp_path / "4epoch.pth") == "missing"


def _shapes(corpus, root: Path) -> Path:
    """Shape files for ESPnet's sorted batches (instead of collect-stats)."""
    for phase in ("train", "valid"):
        write_shape_files(corpus[phase], root / phase)
    return root


def _reporter(values):
    rep = Reporter()
    for e, v in enumerate(values, 1):
        rep.set_epoch(e)
        rep.stats[e] = {"valid": {"acc": v}}
    return rep


def test_safe_average_skips_and_names_bad_epoch_files(tmp_path, caplog):
    for e in (1, 2, 3, 4):
        torch.save({"w": torch.full((3,), float(e))}, tmp_path / f"{e}epoch.pth")
    _truncate(tmp_path / "4epoch.pth", 20)  # best epoch, killed mid-write
    (tmp_path / "3epoch.pth").unlink()  # second best, deleted
    rep = _reporter([0.1, 0.2, 0.3, 0.4])
    with caplog.at_level(logging.WARNING):
        cio.safe_average_nbest_models(tmp_path, rep, [["valid", "acc", "max"]], [2])
    assert "4epoch.pth" in caplog.text and "3epoch.pth (missing)" in caplog.text
    ave = torch.load(tmp_path / "valid.acc.ave.pth", weights_only=False)
    assert torch.equal(ave["w"], torch.full((3,), 1.5))  # epochs 2 and 1
    assert (tmp_path / "valid.acc.ave.pth").resolve().name == "valid.acc.ave_2best.pth"


def test_safe_average_all_bad_names_every_file(tmp_path):
    (tmp_path / "1epoch.pth").write_bytes(b"")
    with pytest.raises(RuntimeError, match=r"1epoch.pth: empty"):
        cio.safe_average_nbest_models(
            tmp_path, _reporter([0.5]), [["valid", "acc", "max"]], 1
        )


@pytest.mark.slow
def test_truncated_checkpoint_and_epoch_file_resume_from_last_intact_epoch(
    tmp_path, caplog
):
    """Issue 13, failures 1 and 2: a kill while checkpoint.pth / <N>epoch.pth
    was written (simulated by truncating them) no longer makes the run
    unresumable or the final averaging fail."""
    corpus = write_tiny_corpus(tmp_path, sets={"train": 8, "valid": 2})
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config("vsr", max_epoch=2, keep_nbest_models=3)))
    exp = tmp_path / "exp"
    shapes = _shapes(corpus, tmp_path / "stats")

    def train(*extra):
        avsr_train.main(train_command(corpus, cfg, exp, "vsr", shapes, extra))

    train()
    assert {p.name for p in exp.glob("*epoch*.pth")} >= {
        "1epoch.pth", "2epoch.pth", "1epoch.state.pth", "2epoch.state.pth"
    }  # fmt: skip
    assert not list(exp.glob(".*tmp*"))
    _truncate(exp / "checkpoint.pth", 0)
    _truncate(exp / "2epoch.pth", 100)
    with caplog.at_level(logging.WARNING):
        train("--resume", "true", "--max_epoch", "3")
    assert "RESUME FALLBACK" in caplog.text
    assert "checkpoint.pth is empty (0 bytes)" in caplog.text
    assert "Resuming from" in caplog.text and "1epoch.pth (end of epoch 1)" in caplog.text
    assert (exp / "checkpoint.pth.corrupt").stat().st_size == 0
    ck = torch.load(exp / "checkpoint.pth", weights_only=False)
    assert sorted(ck["reporter"]["stats"]) == [1, 2, 3]  # epoch 2 retrained, 3 added
    assert cio.checkpoint_problem(exp / "2epoch.pth") is None
    assert (exp / "valid.acc.ave.pth").exists()

    # a truncated epoch file at the end of training: averaging (of every
    # epoch) skips it and averages the other three
    caplog.clear()
    _truncate(exp / "3epoch.pth", 100)
    with caplog.at_level(logging.WARNING):
        train("--resume", "true", "--max_epoch", "4", "--keep_nbest_models", "10")
    assert "model averaging: skipping" in caplog.text and "3epoch.pth" in caplog.text
    assert (exp / "valid.acc.ave.pth").resolve().name == "valid.acc.ave_3best.pth"
    assert torch.load(exp / "valid.acc.ave.pth", weights_only=False)


def test_a_second_trainer_on_the_same_directory_stops_at_once(tmp_path):
    """Issue 13, failure 3: no second trainer on one experiment directory."""
    from msrs.utils.dir_lock import DirLock, DirLockedError

    corpus = write_tiny_corpus(tmp_path, sets={"train": 4, "valid": 2})
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config("vsr", max_epoch=1)))
    exp = tmp_path / "exp"
    shapes = _shapes(corpus, tmp_path / "stats")
    with DirLock(exp, ".trainer.lock", "training"):
        with pytest.raises(DirLockedError, match=r"exp is in use by training: pid \d+"):
            avsr_train.main(train_command(corpus, cfg, exp, "vsr", shapes))
    assert not (exp / "checkpoint.pth").exists()


def test_epoch_files_without_state_are_never_retrained_over(tmp_path):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    torch.save({"w": torch.zeros(2)}, tmp_path / "3epoch.pth")  # an older run's weights
    (tmp_path / "checkpoint.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(RuntimeError, match=r"intact 3epoch.pth .* have no <N>epoch.state.pth"):
        cio.repair_resume_checkpoint(tmp_path, [opt])
    assert (tmp_path / "checkpoint.pth").exists()  # left in place: a rerun says the same
    with pytest.raises(RuntimeError, match="3epoch.pth"):
        cio.repair_resume_checkpoint(tmp_path, [opt])


def test_nothing_to_fall_back_to_starts_over_with_a_warning(tmp_path, caplog):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    (tmp_path / "checkpoint.pth").write_bytes(b"")
    (tmp_path / "1epoch.pth").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        assert cio.repair_resume_checkpoint(tmp_path, [opt]) is None
    assert "training starts again from epoch 1" in caplog.text
    assert (tmp_path / "checkpoint.pth.corrupt").exists()
    assert cio.repair_resume_checkpoint(tmp_path, [opt]) is None  # a new run: nothing to do
