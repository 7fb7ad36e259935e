"""Generate the synthetic LRS3-layout corpus (or only a babble-noise file).

    python -m msrs.bin.synth_corpus --out data/synth_lrs3 --nj 2    # mini corpus
    python -m msrs.bin.synth_corpus --out DIR --preset bench --nj 2  # the benchmark
    python -m msrs.bin.synth_corpus --out DIR2 --preset bench --test2 --nj 2  # its 2nd test set
    python -m msrs.bin.synth_corpus --out DIR --preset small --grammar template
    python -m msrs.bin.synth_corpus --babble noise/babble.wav --babble_seconds 60

Byte-reproducible from --seed; resumable (finished speakers are skipped).
See msrs/data/synth/corpus.py and docs/data.md.
"""

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from typing import List, Optional

from msrs.data.cli import add_log_level, fail, setup_logging, str2bool

PRESETS = {
    # a few seconds: tests and smoke checks
    "tiny": dict(
        num_train_speakers=3,
        num_test_speakers=1,
        trainval_per_speaker=3,
        pretrain_per_speaker=1,
        pretrain_sentences=(2, 3),
        test_per_speaker=2,
        babble_seconds=5.0,
    ),
    # the former demo corpus (16 train speakers; its test WER does not hold on new speakers)
    "mini": {},
    # the benchmark: many speakers with few clips each, so that test WER generalises
    # across speaker draws; grid grammar as mini.  Its second test set (new speakers,
    # another seed) comes from TEST2 below (egs/mini_lrs3/local/data.sh --test2 true).
    "bench": dict(
        num_train_speakers=80,
        num_test_speakers=12,
        trainval_per_speaker=12,
        pretrain_per_speaker=1,
        pretrain_sentences=(2, 4),
        test_per_speaker=12,
    ),
    # what `make demo` trains on: bench's generator settings, fewer speakers and clips
    "demo": dict(
        num_train_speakers=40,
        num_test_speakers=12,
        trainval_per_speaker=6,
        pretrain_per_speaker=1,
        pretrain_sentences=(2, 4),
        test_per_speaker=8,
    ),
    # a harder, larger corpus for experiments
    "small": dict(
        num_train_speakers=40,
        num_test_speakers=8,
        trainval_per_speaker=60,
        pretrain_per_speaker=6,
        pretrain_sentences=(3, 8),
        test_per_speaker=30,
        babble_seconds=60.0,
    ),
}


# A second test set: the preset's test sizes, drawn with seed + TEST2_SEED_OFFSET, no
# training speakers, no babble, speaker ids prefixed with TEST2_PREFIX (so 13 characters:
# they cannot collide with a main corpus' 11-character ids).
TEST2_SEED_OFFSET = 1000
TEST2_PREFIX = "t2"


def get_parser() -> argparse.ArgumentParser:
    from msrs.data.synth.corpus import CorpusConfig

    d = CorpusConfig()
    p = argparse.ArgumentParser(
        description="Synthetic LRS3-layout audio-visual corpus "
        "(espeak-ng speech, animated face)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--out", default=None, help="corpus directory (pretrain/ trainval/ test/ ...)"
    )
    p.add_argument(
        "--babble", default=None, help="only write a babble-noise wav to this path"
    )
    p.add_argument(
        "--preset",
        default="mini",
        choices=sorted(PRESETS),
        help="size preset; flags below override it",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--grammar",
        default=None,
        choices=["grid", "template"],
        help=f"sentence grammar ({d.grammar})",
    )
    p.add_argument(
        "--layout",
        default=None,
        choices=["lrs3", "grid"],
        help="lrs3: pretrain/ trainval/ test/ with .mp4 + .txt; grid: GRID's "
        "s<N>/<id>.mpg + alignments/s<N>/<id>.align (needs --grammar grid)",
    )
    for name in (
        "num_train_speakers",
        "num_test_speakers",
        "trainval_per_speaker",
        "pretrain_per_speaker",
        "test_per_speaker",
        "frame_size",
        "crf",
        "babble_talkers",
    ):
        p.add_argument(
            f"--{name}",
            type=int,
            default=None,
            help=f"(preset; mini: {getattr(d, name)})",
        )
    p.add_argument(
        "--pretrain_sentences",
        default=None,
        help="min,max sentences per pretrain clip (mini: 2,4)",
    )
    p.add_argument(
        "--test2",
        action="store_true",
        help="write only a second test set for the preset: its test speakers and "
        f"clips per speaker, drawn with --seed + {TEST2_SEED_OFFSET}, speaker ids "
        f"prefixed '{TEST2_PREFIX}', no training speakers, no babble",
    )
    p.add_argument(
        "--speaker_prefix",
        default=None,
        help="letters/digits before every speaker id (lrs3 layout)",
    )
    p.add_argument(
        "--preset_x264",
        dest="preset_x264",
        default=None,
        help=f"x264 preset ({d.preset})",
    )
    p.add_argument(
        "--write_landmarks",
        type=str2bool,
        default=None,
        help="write true keypoints per frame (true)",
    )
    p.add_argument(
        "--babble_seconds",
        type=float,
        default=None,
        help="babble length in s (0: no babble)",
    )
    p.add_argument(
        "--nj",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="worker processes (the output does not depend on it)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="regenerate even finished speakers"
    )
    p.add_argument("--progress", type=str2bool, default=True)
    add_log_level(p)
    return p


def build_config(args: argparse.Namespace):
    from msrs.data.synth.corpus import CorpusConfig

    values = dict(PRESETS[args.preset])
    values["seed"] = args.seed
    if getattr(args, "test2", False):
        values.update(
            seed=args.seed + TEST2_SEED_OFFSET,
            num_train_speakers=0,
            babble_seconds=0.0,
            speaker_prefix=TEST2_PREFIX,
        )
    for f in dataclasses.fields(CorpusConfig):
        v = getattr(args, f.name, None)
        if f.name == "preset":
            v = args.preset_x264
        if v is not None and f.name != "seed":
            values[f.name] = v
    if isinstance(values.get("pretrain_sentences"), str):
        try:
            lo, hi = (int(x) for x in values["pretrain_sentences"].split(","))
        except ValueError:
            raise ValueError(
                f"--pretrain_sentences: expected 'min,max', "
                f"got {values['pretrain_sentences']!r}"
            ) from None
        values["pretrain_sentences"] = (lo, hi)
    return CorpusConfig(**values)


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.data.synth.espeak import EspeakError

    try:
        config = build_config(args)
        t0 = time.time()
        if args.babble:
            from msrs.data.synth.corpus import _babble_worker, _context

            with _context().Pool(1, maxtasksperchild=1) as pool:
                pool.apply(
                    _babble_worker,
                    (
                        args.babble,
                        config.babble_seconds or 30.0,
                        config.babble_talkers,
                        args.seed,
                        "template",
                    ),
                )
            logging.info(
                "wrote %s (%.1f s) in %.1f s",
                args.babble,
                config.babble_seconds or 30.0,
                time.time() - t0,
            )
            return 0
        if not args.out:
            return fail("give --out DIR (corpus) or --babble FILE.wav")
        from msrs.data.synth.corpus import generate_corpus

        counts = generate_corpus(
            args.out, config, args.nj, args.overwrite, args.progress
        )
    except (ValueError, EspeakError, OSError) as e:
        return fail(str(e))
    counts["seconds"] = round(time.time() - t0, 1)
    logging.info("%s: %s", args.out, json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
