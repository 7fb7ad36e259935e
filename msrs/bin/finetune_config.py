"""Training config and tokens for fine-tuning a packed model (egs/own_corpus).

    eval "$(python -m msrs.bin.finetune_config --model_archive exp/.../model.tar.gz \
        --overrides conf/finetune.yaml --out exp/finetune/train_finetune.yaml \
        --token_listdir data/token_list_init [--new_tokens false])"

writes ``--out``: the archive's architecture (frontends, encoders, fusion,
decoder, model, preprocessor, sparsity ...) and training settings, without
what belongs to the run that made it (data, shape files, output dir, token
list, distributed settings), with ``--overrides`` merged on top (a mapping
replaces the keys it names, e.g. ``optim_conf: {lr: 2.0e-4}``).  The archive's
training noise file is dropped (pass --noise_file to the recipe).

Tokens: by default the model's own token list (and SentencePiece model) is
copied to ``<token_listdir>/<tag>`` and marked as stage 4's output, so the
fine-tuned model writes the same units; ``--new_tokens true`` leaves stage 4
to build a list from your transcripts (another language), and the layers
whose size depends on it (embedding, output layer, CTC) start from scratch.
Prints shell assignments for the recipe::

    init_param=<archive model.pth>  model_token_type=<bpe|char>  token_tag=<tag>
    init_args="--init_param ... [--ignore_init_mismatch true]"
    model_modality=<vsr|asr|avsr>  archive_roi_opts="<the stage-2 options packed>"
"""

import argparse
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

#: training-config keys that define the model or how it trains (kept)
KEEP = (
    "modality", "video_frontend", "video_frontend_conf", "audio_frontend", "audio_frontend_conf",
    "normalize", "normalize_conf", "encoder", "encoder_conf", "audio_encoder", "audio_encoder_conf",
    "fusion", "fusion_conf", "decoder", "decoder_conf", "model", "model_conf", "ctc_conf", "init",
    "input_size", "preprocessor", "preprocessor_conf", "sparsity", "sparsity_conf", "token_type",
    "optim", "optim_conf", "scheduler", "scheduler_conf", "batch_type", "batch_bins", "batch_size",
    "accum_grad", "grad_clip", "max_epoch", "keep_nbest_models", "best_model_criterion",
    "num_att_plot", "use_matplotlib", "num_workers", "grad_flow_interval", "shuffle_length_ties",
    "seed", "use_amp", "log_interval",
)  # fmt: skip


def finetune_config(base: Dict[str, Any], overrides: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The kept keys of ``base`` with ``overrides`` merged (mappings key by key)."""
    out = {k: base[k] for k in KEEP if k in base}
    pre = dict(out.get("preprocessor_conf") or {})
    pre.pop("noise_file", None)
    out["preprocessor_conf"] = pre
    for k, v in (overrides or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def get_parser() -> argparse.ArgumentParser:
    from msrs.data.cli import str2bool

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_archive", required=True, help="archive from msrs.bin.pack")
    p.add_argument("--out", required=True, help="training config to write")
    p.add_argument("--overrides", default=None, help="YAML merged over the archive's config")
    p.add_argument("--token_listdir", required=True, help="where the archive's tokens go (<dir>/<tag>/)")
    p.add_argument("--new_tokens", type=str2bool, default=False,
                   help="train a new token list (stage 4) instead of the model's")  # fmt: skip
    return p


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    from msrs.utils.model_archive import ArchiveError, read_meta, unpack

    try:
        paths = unpack(args.model_archive)
    except (ArchiveError, FileNotFoundError) as e:
        print(f"finetune_config: {e}", file=sys.stderr)
        return 1
    base = yaml.safe_load(Path(paths["asr_train_config"]).read_text(encoding="utf-8"))
    overrides = yaml.safe_load(Path(args.overrides).read_text(encoding="utf-8")) if args.overrides else {}
    conf = finetune_config(base, overrides)
    token_type = conf.get("token_type") or "bpe"
    tag = "char" if token_type == "char" else "archive"
    if not args.new_tokens:
        tokdir = Path(args.token_listdir) / tag
        tokdir.mkdir(parents=True, exist_ok=True)
        tokens = base["token_list"]
        if isinstance(tokens, list):
            (tokdir / "tokens.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
        else:
            shutil.copy(tokens, tokdir / "tokens.txt")
        if token_type != "char" and base.get("bpemodel"):
            shutil.copy(base["bpemodel"], tokdir / "bpe.model")
        (tokdir / ".done.stage4").write_text(f"tokens of {args.model_archive}\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        f"# Fine-tuning config: {args.model_archive} + {args.overrides or 'no overrides'}"
        " (msrs.bin.finetune_config)\n" + yaml.safe_dump(conf, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    init = f"--init_param {paths['asr_model_file']}"
    if args.new_tokens:
        init += " --ignore_init_mismatch true"  # vocabulary-sized layers start from scratch
    meta = read_meta(Path(paths["asr_train_config"]).parents[1])
    printed = dict(
        init_param=paths["asr_model_file"], model_token_type=token_type, token_tag=tag,
        init_args=init, model_modality=conf.get("modality", "vsr"),
        archive_roi_opts=meta.get("roi_opts", ""),
    )  # fmt: skip
    for k, v in printed.items():
        print(f"{k}={shlex.quote(str(v))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
