#!/usr/bin/env python3
"""Train a SentencePiece model and write an ESPnet token list (recipe stage 4).

Examples:
    python -m msrs.bin.train_tokenizer --text data/train/text \\
        --out data/token_list/bpe_unigram5000 --vocab_size 5000
    python -m msrs.bin.train_tokenizer --text data/train/text \\
        --out data/token_list/char --model_type char

Outputs in ``--out``:

- ``bpe.model`` / ``bpe.vocab`` (``unigram`` and ``bpe``): trained through the
  SentencePiece Python API (the pip wheel has no ``spm_train`` binary).
- ``tokens.txt``: ESPnet's order, ``<blank>``, ``<unk>``, the units,
  ``<sos/eos>`` last.  For SentencePiece the units are the model's pieces in id
  order without its ``<unk>``/``<s>``/``</s>``, so ``len(tokens.txt) ==
  vocab_size`` as with ESPnet's asr.sh.  For ``char`` the units are the
  characters by descending frequency (ties by code point), with ``<space>``
  for the space as ESPnet's ``CharTokenizer`` expects; no model is written.

Training is deterministic: all sentences are used in file order (no sampling)
and SentencePiece runs single-threaded by default (its result depends on the
thread count; ``--num_threads`` trades that for speed).  Rerunning into the
same ``--out`` gives byte-identical files; in another directory the pieces,
scores and ``tokens.txt`` are identical, only the training path SentencePiece
records inside ``bpe.model`` differs.

Too large a vocabulary for a small corpus (SentencePiece's "Vocabulary size
too high ... <= N"): by default the size is capped to the largest size
SentencePiece accepts, with a warning (our choice; tiny corpora are common in
tests and the mini recipe).  ``--cap_vocab_size false`` makes it an error.
"""

import argparse
import logging
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from espnet2.utils.types import str2bool

BLANK, UNK, SOS_EOS, SPACE = "<blank>", "<unk>", "<sos/eos>", "<space>"
MODEL_TYPES = ("unigram", "bpe", "char")
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\).*?<=\s*(\d+)")

logger = logging.getLogger(__name__)


class TokenizerError(ValueError):
    """Bad tokenizer input or option; the message names the file/option."""


def read_sentences(path: Union[str, Path], input_has_ids: bool = True) -> List[str]:
    """Read training sentences.

    Args:
        path: Kaldi ``text`` (``<utt_id> <text>``) or plain text, UTF-8.
        input_has_ids: drop the first field of each line.

    Returns:
        Non-empty sentences, whitespace-normalised, in file order.

    Raises:
        TokenizerError: missing/unreadable file or no non-empty sentence.
    """
    path = Path(path)
    if not path.is_file():
        raise TokenizerError(f"--text {path}: no such file")
    sentences: List[str] = []
    n_empty = 0
    try:
        with path.open("r", encoding="utf-8") as f:
            for line in f:
                fields = line.split(maxsplit=1) if input_has_ids else [None, line]
                text = " ".join(fields[1].split()) if len(fields) > 1 else ""
                if text:
                    sentences.append(text)
                elif line.strip():
                    n_empty += 1
    except UnicodeDecodeError as e:
        raise TokenizerError(f"--text {path}: not valid UTF-8 ({e})") from e
    if n_empty:
        logger.warning("%s: skipped %d utterance(s) with empty text", path, n_empty)
    if not sentences:
        raise TokenizerError(f"--text {path}: no non-empty sentence to train on")
    return sentences


def write_token_list(path: Path, units: Sequence[str]) -> None:
    """Write ``<blank>``, ``<unk>``, ``units``, ``<sos/eos>`` one per line."""
    reserved = {BLANK, UNK, SOS_EOS}
    tokens = [BLANK, UNK] + [u for u in units if u not in reserved] + [SOS_EOS]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    tmp.replace(path)


def char_units(sentences: Sequence[str], vocab_size: int = 0) -> List[str]:
    """Characters by descending count (ties by code point); space -> ``<space>``.

    Args:
        sentences: training text.
        vocab_size: bound on the whole token list (incl. the three specials);
            0 keeps every character.

    Returns:
        The unit list (without ``<blank>``/``<unk>``/``<sos/eos>``).
    """
    counts: Counter = Counter()
    for s in sentences:
        counts.update(SPACE if ch == " " else ch for ch in s)
    units = [u for u, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]
    if vocab_size > 0 and len(units) > vocab_size - 3:
        logger.warning(
            "char vocabulary: keeping the %d most frequent of %d characters "
            "(--vocab_size %d)",
            max(vocab_size - 3, 0),
            len(units),
            vocab_size,
        )
        units = units[: max(vocab_size - 3, 0)]
    return units


def _train_spm(
    sentences: Sequence[str],
    model_prefix: Path,
    vocab_size: int,
    model_type: str,
    character_coverage: float,
    user_defined_symbols: Sequence[str],
    num_threads: int,
    cap_vocab_size: bool,
    verbose: bool,
) -> int:
    import sentencepiece as spm

    size = vocab_size
    for _ in range(3):
        kwargs = dict(
            sentence_iterator=iter(sentences),
            model_prefix=str(model_prefix),
            vocab_size=size,
            model_type=model_type,
            character_coverage=character_coverage,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=num_threads,
            minloglevel=0 if verbose else 1,
        )
        if user_defined_symbols:
            kwargs["user_defined_symbols"] = list(user_defined_symbols)
        try:
            spm.SentencePieceTrainer.train(**kwargs)
            return size
        except RuntimeError as e:
            m = _TOO_HIGH.search(str(e))
            if not m:
                raise TokenizerError(f"SentencePiece training failed: {e}") from e
            limit = int(m.group(2))
            if not cap_vocab_size:
                raise TokenizerError(
                    f"--vocab_size {vocab_size} is too large for this corpus: "
                    f"SentencePiece ({model_type}) accepts at most {limit}. Lower "
                    "--vocab_size or pass --cap_vocab_size true"
                ) from e
            logger.warning(
                "--vocab_size %d is too large for this corpus; capped to %d, the "
                "largest size SentencePiece (%s) accepts",
                size,
                limit,
                model_type,
            )
            size = limit
    raise TokenizerError(
        f"SentencePiece could not settle on a vocabulary size <= {size}"
    )


def train_tokenizer(
    text: Union[str, Path],
    out: Union[str, Path],
    vocab_size: int,
    model_type: str = "unigram",
    input_has_ids: bool = True,
    character_coverage: float = 1.0,
    user_defined_symbols: Sequence[str] = (),
    num_threads: int = 1,
    cap_vocab_size: bool = True,
    verbose: bool = False,
) -> Dict[str, object]:
    """Train the tokenizer and write ``tokens.txt`` (+ ``bpe.model``).

    Args:
        text: training text (Kaldi ``text`` with ``input_has_ids``).
        out: output directory (created).
        vocab_size: SentencePiece vocabulary = token list length; for
            ``char`` an upper bound (0: all characters).
        model_type: ``unigram``, ``bpe`` or ``char``.
        input_has_ids: the first field of each line is an utterance id.
        character_coverage: SentencePiece ``character_coverage`` (1.0 keeps
            every character, ESPnet's default).
        user_defined_symbols: pieces kept whole (e.g. non-linguistic symbols).
        num_threads: SentencePiece threads (1 = reproducible).
        cap_vocab_size: cap a too-large vocabulary with a warning instead of
            failing.
        verbose: show SentencePiece's own training log.

    Returns:
        ``{"token_list", "bpemodel" (None for char), "vocab_size", "n_sentences"}``.

    Raises:
        TokenizerError: bad option or input.
    """
    if model_type not in MODEL_TYPES:
        raise TokenizerError(
            f"--model_type must be one of {MODEL_TYPES}, got {model_type!r}"
        )
    if vocab_size < 0 or (model_type != "char" and vocab_size < 4):
        raise TokenizerError(
            f"--vocab_size {vocab_size}: must be >= 4 for {model_type} "
            "(<blank>, <unk>, <sos/eos> and one unit)"
        )
    sentences = read_sentences(text, input_has_ids)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    token_list = out / "tokens.txt"
    if model_type == "char":
        units = char_units(sentences, vocab_size)
        write_token_list(token_list, units)
        logger.info(
            "%s: %d tokens (char) from %d sentences",
            token_list,
            len(units) + 3,
            len(sentences),
        )
        return {
            "token_list": str(token_list),
            "bpemodel": None,
            "vocab_size": len(units) + 3,
            "n_sentences": len(sentences),
        }

    import sentencepiece as spm

    # Train into a scratch prefix and move into place, so an interrupted run
    # never leaves a model that does not match tokens.txt.  The prefix is fixed
    # (SentencePiece stores it in the model), so reruns give identical bytes.
    scratch = out / ".spm_train"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        prefix = scratch / "bpe"
        size = _train_spm(
            sentences,
            prefix,
            vocab_size,
            model_type,
            character_coverage,
            user_defined_symbols,
            num_threads,
            cap_vocab_size,
            verbose,
        )
        sp = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
        units = [
            sp.id_to_piece(i)
            for i in range(sp.get_piece_size())
            if not (sp.is_unknown(i) or sp.is_control(i))
        ]
        _self_check(sp, sentences[:200])
        for suffix in (".model", ".vocab"):
            Path(str(prefix) + suffix).replace(out / f"bpe{suffix}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_token_list(token_list, units)
    logger.info(
        "%s, %s: %d tokens (%s) from %d sentences",
        out / "bpe.model",
        token_list,
        len(units) + 3,
        model_type,
        len(sentences),
    )
    return {
        "token_list": str(token_list),
        "bpemodel": str(out / "bpe.model"),
        "vocab_size": size,
        "n_sentences": len(sentences),
    }


def _self_check(sp, sentences: Sequence[str]) -> None:
    """Encode/decode a few training sentences; warn on lossy round trips."""
    bad = [s for s in sentences if sp.decode_pieces(sp.encode_as_pieces(s)) != s]
    if bad:
        logger.warning(
            "%d of %d checked sentences do not round-trip through the model "
            "(SentencePiece NFKC normalisation or character_coverage < 1), e.g. %r",
            len(bad),
            len(sentences),
            bad[0],
        )


def _symbols(value: Optional[str]) -> List[str]:
    if not value:
        return []
    p = Path(value)
    if p.is_file():
        return [
            line.strip()
            for line in p.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    return [s for s in value.split(",") if s]


def get_parser() -> argparse.ArgumentParser:
    """Command-line parser of ``msrs.bin.train_tokenizer``."""
    parser = argparse.ArgumentParser(
        description="Train a SentencePiece model / char list and write an ESPnet token list",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--text", required=True, help="training text (Kaldi text)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--vocab_size", type=int, default=5000, help="token list size")
    parser.add_argument("--model_type", default="unigram", choices=MODEL_TYPES)
    parser.add_argument("--input_has_ids", type=str2bool, default=True)
    parser.add_argument("--character_coverage", type=float, default=1.0)
    parser.add_argument(
        "--user_defined_symbols",
        default=None,
        help="comma-separated symbols, or a file with one per line (e.g. nlsyms)",
    )
    parser.add_argument("--num_threads", type=int, default=1)
    parser.add_argument(
        "--cap_vocab_size",
        type=str2bool,
        default=True,
        help="cap a too-large --vocab_size with a warning instead of failing",
    )
    parser.add_argument("--verbose", type=str2bool, default=False)
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    """Run the tool; returns the process exit status."""
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    try:
        train_tokenizer(
            args.text,
            args.out,
            args.vocab_size,
            args.model_type,
            args.input_has_ids,
            args.character_coverage,
            _symbols(args.user_defined_symbols),
            args.num_threads,
            args.cap_vocab_size,
            args.verbose,
        )
    except TokenizerError as e:
        logging.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
