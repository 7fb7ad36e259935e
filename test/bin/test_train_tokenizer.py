"""Tokenizer training: ESPnet token-list layout, ESPnet round trip, determinism."""

import logging
import random
import subprocess
import sys

import pytest

from msrs.bin.train_tokenizer import TokenizerError, main, train_tokenizer
from msrs.utils.espnet_import import import_espnet


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(0)
    words = [
        "".join(rng.choice("ABCDEFGHIKLMNOPRSTUWY") for _ in range(rng.randint(1, 7)))
        for _ in range(300)
    ]
    lines = [
        f"spk{i % 7}_utt{i:04d} "
        + " ".join(rng.choice(words) for _ in range(rng.randint(1, 10)))
        for i in range(600)
    ]
    lines.append("spk0_empty")  # an utterance with empty text
    path = tmp_path_factory.mktemp("data") / "text"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [line.split(maxsplit=1)[1] for line in lines if " " in line]


def _tokens(d):
    return (d / "tokens.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_sentencepiece_token_list_loads_and_round_trips_in_espnet(
    tmp_path, corpus, model_type
):
    text, sentences = corpus
    out = tmp_path / f"bpe_{model_type}80"
    assert (
        main(
            [
                "--text",
                str(text),
                "--out",
                str(out),
                "--vocab_size",
                "80",
                "--model_type",
                model_type,
            ]
        )
        == 0
    )
    tokens = _tokens(out)
    assert len(tokens) == 80 and len(set(tokens)) == 80
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert "<s>" not in tokens and "</s>" not in tokens

    build_tokenizer = import_espnet("espnet2.text.build_tokenizer").build_tokenizer
    TokenIDConverter = import_espnet("espnet2.text.token_id_converter").TokenIDConverter
    tok = build_tokenizer("bpe", bpemodel=str(out / "bpe.model"))
    conv = TokenIDConverter(str(out / "tokens.txt"))
    assert conv.get_num_vocabulary_size() == 80
    for s in sentences[:50]:
        ids = conv.tokens2ids(tok.text2tokens(s))
        assert conv.unk_id not in ids
        assert tok.tokens2text(conv.ids2tokens(ids)) == s


def test_deterministic(tmp_path, corpus):
    import sentencepiece as spm

    text, _ = corpus
    train_tokenizer(text, tmp_path / "a", 60)
    first = (tmp_path / "a" / "bpe.model").read_bytes(), _tokens(tmp_path / "a")
    train_tokenizer(text, tmp_path / "a", 60)  # rerun in place: identical bytes
    assert (
        (tmp_path / "a" / "bpe.model").read_bytes(),
        _tokens(tmp_path / "a"),
    ) == first
    train_tokenizer(text, tmp_path / "b", 60)  # elsewhere: same pieces and scores
    assert _tokens(tmp_path / "b") == first[1]
    sp = [
        spm.SentencePieceProcessor(model_file=str(tmp_path / d / "bpe.model"))
        for d in "ab"
    ]
    pieces = [
        [(s.id_to_piece(i), s.get_score(i)) for i in range(s.get_piece_size())]
        for s in sp
    ]
    assert pieces[0] == pieces[1]
    assert not (tmp_path / "a" / ".spm_train").exists()


def test_char_token_list_round_trips_with_espnet_char_tokenizer(tmp_path, corpus):
    text, sentences = corpus
    r = train_tokenizer(text, tmp_path / "char", 0, model_type="char")
    assert r["bpemodel"] is None and not (tmp_path / "char" / "bpe.model").exists()
    tokens = _tokens(tmp_path / "char")
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert "<space>" in tokens and " " not in tokens
    build_tokenizer = import_espnet("espnet2.text.build_tokenizer").build_tokenizer
    TokenIDConverter = import_espnet("espnet2.text.token_id_converter").TokenIDConverter
    tok, conv = build_tokenizer("char"), TokenIDConverter(tokens)
    for s in sentences[:20]:
        ids = conv.tokens2ids(tok.text2tokens(s))
        assert conv.unk_id not in ids
        assert tok.tokens2text(conv.ids2tokens(ids)) == s


def test_too_large_vocabulary_is_capped_with_warning_or_refused(tmp_path, caplog):
    text = tmp_path / "text"
    text.write_text("u1 HELLO WORLD\nu2 THE CAT SAT\n")
    with caplog.at_level(logging.WARNING):
        r = train_tokenizer(text, tmp_path / "capped", 5000)
    assert "capped to" in caplog.text
    assert (
        r["vocab_size"] < 5000 and len(_tokens(tmp_path / "capped")) == r["vocab_size"]
    )
    with pytest.raises(TokenizerError, match="--vocab_size 5000 is too large"):
        train_tokenizer(text, tmp_path / "strict", 5000, cap_vocab_size=False)
    assert not (tmp_path / "strict" / "bpe.model").exists()


def test_plain_text_input_and_bad_inputs(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("HELLO WORLD\nTHE CAT\n")
    train_tokenizer(plain, tmp_path / "p", 0, model_type="char", input_has_ids=False)
    assert "H" in _tokens(tmp_path / "p")
    empty = tmp_path / "empty"
    empty.write_text("u1\nu2   \n")
    with pytest.raises(TokenizerError, match="no non-empty sentence"):
        train_tokenizer(empty, tmp_path / "e", 10)
    with pytest.raises(TokenizerError, match="--model_type"):
        train_tokenizer(
            plain, tmp_path / "e", 10, model_type="word", input_has_ids=False
        )


def test_cli_missing_file_exits_with_message(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "msrs.bin.train_tokenizer",
            "--text",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        p.returncode == 1
        and "nope: no such file" in p.stderr
        and "Traceback" not in p.stderr
    )
