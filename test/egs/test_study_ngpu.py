"""``run_study.sh --ngpu N`` runs the same study on GPUs (issue 12): every training and
decoding call it makes to the driver carries ``--ngpu N`` (and ``--gpu_inference``),
for every kind of run -- plain, curriculum (both stages), quarter-speaker and AVSR.
The driver is replaced by a stub that records its arguments, so no GPU is needed."""

import shutil

from egs_recipe import ROOT, copy_recipe, run_script

STUB = """#!/usr/bin/env bash
# records each call's arguments, one line per call; makes the run directory of --tag
echo "$*" >> calls.txt
tag=""; while [ $# -gt 0 ]; do [ "$1" = --tag ] && tag=$2; shift; done
[ -z "${tag}" ] || mkdir -p "exp/vsr_${tag}" "exp/avsr_${tag}" "exp/quarter/vsr_${tag}"
"""


def test_ngpu_reaches_every_training_and_decoding_call(tmp_path):
    rec = copy_recipe("mini_lrs3", tmp_path)
    shutil.copy2(ROOT / "egs" / "mini_lrs3" / "run_study.sh", rec / "run_study.sh")
    (rec / "avsr.sh").unlink()  # a link to the shared driver: replace the link, not its target
    (rec / "avsr.sh").write_text(STUB)
    (rec / "avsr.sh").chmod(0o755)
    out = run_script(rec, "run_study.sh", "--quick", "--stage", "2", "--stop_stage", "2",
                     "--ngpu", "2", "--gpu_inference", "true", "--jobs", "1", timeout=300)
    assert "FAILED" not in out
    calls = (rec / "study" / "quick" / "calls.txt").read_text().splitlines()
    # --quick: dense, msrs, curriculum (2 calls), dense on a quarter, AVSR msrs
    assert len(calls) == 6, calls
    for c in calls:
        args = c.split()
        assert args[args.index("--ngpu") + 1] == "2", c
        assert args[args.index("--gpu_inference") + 1] == "true", c
    tags = sorted(c.split("--tag ")[1].split()[0] for c in calls)
    assert tags == ["study_curriculum_s0", "study_curriculum_s0_short", "study_dense_quarter_s0",
                    "study_dense_s0", "study_msrs_s0", "study_msrs_s0"]  # the AVSR run: study_msrs_s0
    assert sum("--modality avsr" in c for c in calls) == 1
    assert "calls.txt" not in (ROOT / "egs" / "TEMPLATE" / "avsr.sh").read_text()  # the shared driver is intact
