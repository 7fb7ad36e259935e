"""Own-corpus preparation: sidecar and CSV/TSV inputs, text normalisation, sets, failures."""

import shutil
from pathlib import Path

import pytest

from msrs.data.datadir import read_kv
from msrs.data.own_corpus import TableError, prepare_own_corpus, read_table
from msrs.data.text_norm import TextNorm

REAL = Path(__file__).parent / "grid"


def test_default_normalisation_keeps_letters_of_every_script():
    norm = TextNorm()
    assert norm("Ça va, l'ami ? «Très» bien!") == "ÇA VA L'AMI TRÈS BIEN"
    assert norm("Привет, мир — 2024") == "ПРИВЕТ МИР 2024"
    assert norm("नमस्ते दुनिया।") == "नमस्ते दुनिया"  # vowel signs (combining marks) stay
    assert norm("don’t {LG} stop") == "DON'T STOP"


def test_normalisation_options():
    assert TextNorm(case="lower")("Hello, World") == "hello world"
    assert TextNorm(case="keep", punctuation="keep")("Hello, World!") == "Hello, World!"
    # ascii: the LRS3 rule (accents folded, other scripts dropped)
    assert TextNorm(letters="ascii")("Café crème, мир") == "CAFE CREME"
    with pytest.raises(ValueError, match="--case must be one of"):
        TextNorm(case="title")


def test_character_tokens_for_another_language(tmp_path):
    from msrs.bin.train_tokenizer import train_tokenizer

    text = tmp_path / "text"
    norm = TextNorm()
    text.write_text("".join(f"u{i} {norm(t)}\n" for i, t in enumerate(["Привет мир", "Ёжик в тумане", "Ça va"] * 3)))
    train_tokenizer(text, tmp_path / "tok", 50, model_type="char")
    tokens = (tmp_path / "tok" / "tokens.txt").read_text().split("\n")
    assert {"П", "Ё", "Ж", "Ç"} <= set(tokens) and tokens[0] == "<blank>"


def test_sidecar_folder_with_missing_transcript(tmp_path):
    corpus = tmp_path / "videos"
    (corpus / "anna").mkdir(parents=True)
    shutil.copy(REAL / "id2_vcd_swwp2s.mpg", corpus / "anna" / "one.mpg")
    (corpus / "anna" / "one.txt").write_text("Set white, with P two soon.\n")
    shutil.copy(REAL / "bbaf2n.mpg", corpus / "two.mpg")  # in the root, no transcript
    counts = prepare_own_corpus(corpus, tmp_path / "data", valid_fraction=0, test_fraction=0, nj=1)
    assert counts == {"train": 1, "valid": 0, "test": 0, "failed_clips": 1}
    train = tmp_path / "data" / "train"
    assert read_kv(train / "text") == {"anna_anna_one": "SET WHITE WITH P TWO SOON"}
    assert read_kv(train / "utt2spk") == {"anna_anna_one": "anna"}
    assert "no transcript two.txt" in read_kv(train / "failures.txt")["unknown_two"]


def test_tsv_table_and_speaker_disjoint_sets(tmp_path):
    for k in range(6):
        shutil.copy(REAL / "bbaf2n.mpg", tmp_path / f"c{k}.mpg")
    (tmp_path / "list.tsv").write_text(
        "".join(f"c{k}.mpg\tbin blue at f two now\tspk{k % 3}\n" for k in range(6))
    )
    counts = prepare_own_corpus(None, tmp_path / "data", table=tmp_path / "list.tsv",
                                valid_fraction=0.34, test_fraction=0.34, split_by="speaker", nj=1)  # fmt: skip
    assert counts == {"train": 2, "valid": 2, "test": 2, "failed_clips": 0}
    spk = {s: set(read_kv(tmp_path / "data" / s / "utt2spk").values()) for s in ("train", "valid", "test")}
    assert len(spk["train"] | spk["valid"] | spk["test"]) == 3 and all(len(v) == 1 for v in spk.values())


def test_malformed_table_names_file_and_line(tmp_path):
    (tmp_path / "list.csv").write_text("path,transcript\na.mp4\tword\n")
    with pytest.raises(TableError, match=r"list.csv:2: expected 'path,transcript\[,speaker\]'.*tabs"):
        read_table(tmp_path / "list.csv")
