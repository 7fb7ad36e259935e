"""Every example config in docs/sparsity.md parses and builds a model."""

import re
from pathlib import Path

import pytest
import yaml

from sparse_espnet_asr import train_cmd, write_corpus

DOC = Path(__file__).resolve().parents[2] / "docs" / "sparsity.md"
EXAMPLES = re.findall(r"<!-- example: (\w+) -->\s*```yaml\n(.*?)```", DOC.read_text(), re.S)


def test_every_method_has_an_example():
    assert sorted({m for m, _ in EXAMPLES}) == sorted(["msrs", "cs", "dense", "static", "snip", "gmp", "set", "rigl"])


@pytest.mark.parametrize("method, text", EXAMPLES, ids=[f"{m}{i}" for i, (m, _) in enumerate(EXAMPLES)])
def test_example_builds_with_the_task_parser(method, text, tmp_path):
    from msrs.tasks.asr import SparseASRTask

    cfg = yaml.safe_load(text)
    assert cfg["sparsity"] == method
    write_corpus(tmp_path, n_utts=2)
    (tmp_path / "conf.yaml").write_text(text)
    cmd = train_cmd(tmp_path, tmp_path / "exp", extra=["--config", str(tmp_path / "conf.yaml")])
    args = SparseASRTask.get_parser().parse_args(cmd)
    assert args.sparsity == method and args.grad_flow_interval == cfg.get("grad_flow_interval", 0)
    model = SparseASRTask.build_model(args)
    sp = model.sparsity
    assert sp.method_name == method
    phases = cfg.get("sparsity_conf", {}).get("phases")
    if phases:
        assert [p.kind for p in sp.phase_list] == [p["name"] for p in phases]
    assert len(sp.targets) > 10 and not [t for t in sp.targets if "ctc" in t.name or "output_layer" in t.name]
