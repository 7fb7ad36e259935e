"""Decoding speed of the paper-size VSR and AVSR models, projected to the LRS3 test.

For each of ``--models`` (``vsr``, ``avsr``: ``egs/lrs3/conf/train_<m>_dense.yaml``,
about 250 M parameters for VSR, random weights, 5,000 tokens) it decodes
``--utts`` random utterances of ``--seconds`` s through the recipe's decoder
(``msrs.bin.avsr_inference.AVSRDecoder``: encoder, then ESPnet's batch beam
search over the beam with the attention decoder and CTC prefix scores) at
``--beam`` 40 and CTC weight 0.1 (``egs/lrs3/conf/decode.yaml``), one
utterance at a time as stage 8 does, and prints:

* **RTF**: decoding wall time / media duration, and **utterances/s**;
* **encoder share**: the encoder's part of that time (timed separately),
  the rest being the beam search, which batching across utterances would
  vectorize;
* **projected LRS3 test time**: ``--test_utts`` (1,321) x the measured time
  per utterance of ``--seconds``, per condition, and over all conditions
  (VSR: clean; AVSR: clean + ``--snrs`` babble SNRs = 7 conditions), for one
  decoding job and for ``--jobs`` parallel jobs (the recipe's
  ``inference_nj``).

Random weights rarely emit ``<eos>``, so each hypothesis is held to exactly
``--tokens_per_second`` x duration tokens (ESPnet's ``maxlenratio`` and
``minlenratio`` as fixed lengths; the mean hypothesis length is printed):
every utterance pays for a full-length search.  The LRS3
test set's 9,890 words over 1,321 utterances (~1 h) give about 3.6 unigram
tokens per second (our estimate; the defaults of ``--seconds`` 2.5 and
``--tokens_per_second`` 3.6 are therefore estimates of the mean test
utterance).  On CPU pin the threads (``--threads``, default 1) and the core
(``taskset -c 0``).  Nothing is asserted; numbers are printed (and written as
JSON with ``--json``)::

    taskset -c 0 python bench/decode_speed.py                 # CPU, 1 thread
    python bench/decode_speed.py --device cuda --utts 20      # one GPU
"""

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import torch  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from av_throughput import _sync, _tokens  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FPS = 25
SAMPLES_PER_FRAME = 640


def build_decoder(model_name: str, a, tmp: Path):
    """AVSRDecoder over a randomly initialised paper-size model."""
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from msrs.bin.avsr_inference import AVSRDecoder
    from msrs.tasks.avsr import AVSRTask
    from msrs.tasks.avsr_testing import parse_config

    conf = yaml.safe_load((REPO / "egs/lrs3/conf" / f"train_{model_name}_dense.yaml").read_text())
    conf["token_type"] = "word"
    torch.manual_seed(0)
    args = parse_config(conf, _tokens(a.vocab))
    model = AVSRTask.build_model(args)
    params = sum(p.numel() for p in model.parameters())
    config = tmp / f"{model_name}.yaml"
    with config.open("w") as f:
        yaml_no_alias_safe_dump(vars(copy.deepcopy(args)), f)
    weights = tmp / f"{model_name}.pth"
    torch.save(model.state_dict(), weights)
    del model
    n_tokens = max(1, round(a.seconds * a.tokens_per_second))
    decoder = AVSRDecoder(
        asr_train_config=str(config),
        asr_model_file=str(weights),
        beam_size=a.beam,
        ctc_weight=a.ctc_weight,
        maxlenratio=-float(n_tokens),  # ESPnet: negative = a length in tokens
        minlenratio=-float(n_tokens - 1),  # hypotheses ending earlier are dropped
        device=a.device,
        dtype=a.dtype,
    )
    weights.unlink()
    crop = int(args.preprocessor_conf.get("crop_size", 88))
    return decoder, params, n_tokens, crop


def utterances(model_name: str, a, crop: int):
    g = torch.Generator().manual_seed(1)
    frames = round(a.seconds * FPS)
    out = []
    for _ in range(a.utts + 1):  # + one warm-up
        batch = {}
        if model_name in ("vsr", "avsr"):
            batch["video"] = torch.rand(1, frames, crop, crop, generator=g) * 255
            batch["video_lengths"] = torch.tensor([frames])
        if model_name == "avsr":
            batch["speech"] = torch.randn(1, frames * SAMPLES_PER_FRAME, generator=g) * 0.1
            batch["speech_lengths"] = torch.tensor([frames * SAMPLES_PER_FRAME])
        out.append(batch)
    return out


def bench_model(model_name: str, a) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        decoder, params, n_tokens, crop = build_decoder(model_name, a, Path(tmp))
    utts = utterances(model_name, a, crop)
    decoder.decode_batch(["warmup"], utts[0])
    _sync(a.device)
    times, lengths, enc_times = [], [], []
    for i, utt in enumerate(utts[1:]):
        t0 = time.perf_counter()
        with torch.no_grad():  # the encoder alone, for the encoder/search split
            decoder.model.encode(**{k: v.to(a.device) for k, v in utt.items()})
        _sync(a.device)
        enc_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = decoder.decode_batch([f"utt{i}"], utt)
        _sync(a.device)
        times.append(time.perf_counter() - t0)
        lengths.append(len(result[0][0][2]))
    per_utt = statistics.median(times)
    conditions = 1 if model_name == "vsr" else 1 + len(a.snrs)
    cond_h = a.test_utts * per_utt / 3600
    return dict(
        model=model_name,
        params_m=round(params / 1e6, 1),
        device=a.device,
        dtype=a.dtype,
        threads=torch.get_num_threads(),
        beam=a.beam,
        seconds=a.seconds,
        tokens=n_tokens,
        mean_hyp_tokens=round(statistics.mean(lengths), 1),
        s_per_utt=round(per_utt, 3),
        encoder_share=round(statistics.median(enc_times) / per_utt, 3),
        rtf=round(per_utt / a.seconds, 3),
        utts_per_s=round(1 / per_utt, 3),
        conditions=conditions,
        test_h_per_condition=round(cond_h, 2),
        test_min_per_condition=round(cond_h * 60, 1),
        test_h_all_conditions=round(cond_h * conditions, 2),
        test_h_all_conditions_jobs=round(cond_h * conditions / a.jobs, 2),
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="vsr,avsr")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--utts", type=int, default=3, help="timed utterances per model")
    p.add_argument("--seconds", type=float, default=2.5, help="utterance length")
    p.add_argument("--tokens_per_second", type=float, default=3.6)
    p.add_argument("--beam", type=int, default=40)
    p.add_argument("--ctc_weight", type=float, default=0.1)
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--test_utts", type=int, default=1321, help="LRS3 test utterances")
    p.add_argument("--snrs", default="-5,0,5,10,15,20", help="AVSR babble conditions")
    p.add_argument("--jobs", type=int, default=4, help="parallel decoding jobs")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    a.snrs = [s for s in a.snrs.split(",") if s]
    rows = []
    for m in a.models.split(","):
        if m not in ("vsr", "avsr"):
            p.error(f"unknown model {m!r} (vsr, avsr)")
        rows.append(bench_model(m, a))
        print(json.dumps(rows[-1]), flush=True)
    print()
    for r in rows:
        print(
            f"{r['model']:>4} ({r['params_m']} M params, {r['device']} {r['dtype']}, "
            f"{r['threads']} thread(s), beam {r['beam']}): {r['s_per_utt']} s per "
            f"{r['seconds']} s utterance = RTF {r['rtf']}, {r['utts_per_s']} utts/s "
            f"(encoder {100 * r['encoder_share']:.0f}%); "
            f"LRS3 test ({a.test_utts} utts): {r['test_h_per_condition']} h "
            f"({r['test_min_per_condition']} min) per condition, "
            f"{r['test_h_all_conditions']} h for {r['conditions']} condition(s), "
            f"{r['test_h_all_conditions_jobs']} h with {a.jobs} jobs"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
