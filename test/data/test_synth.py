"""Synthetic LRS3-layout corpus: timings, visemes, grammar, layout, reproducibility."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from msrs.data import video_io
from msrs.data.lrs3 import normalize_text, read_transcript
from msrs.data.synth.corpus import generate_corpus, plan_corpus, speaker_splits
from msrs.data.synth.grammar import GridGrammar, TemplateGrammar, build_grammar
from msrs.data.synth.visemes import PARAMS, VISEMES, phoneme_to_visemes, viseme_track


def _files(root: Path):
    return {
        p.relative_to(root): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_grammars_are_deterministic_and_sized():
    g, t = GridGrammar(), TemplateGrammar()
    assert len(g.vocabulary()) == 51
    assert 300 <= len(t.vocabulary()) <= 500
    for gram in (g, t):
        a = [gram.sample(np.random.default_rng(3)) for _ in range(5)]
        b = [gram.sample(np.random.default_rng(3)) for _ in range(5)]
        assert a == b
        for sent in a:
            assert sent and all(w == normalize_text(w) for w in sent)
            assert set(sent) <= set(gram.vocabulary())
    assert len(g.sample(np.random.default_rng(0))) == 6
    with pytest.raises(ValueError, match="--grammar: unknown grammar 'lrs'"):
        build_grammar("lrs")


def test_viseme_track_follows_phonemes_with_coarticulation():
    assert phoneme_to_visemes("aI") == ("AA", "EE")
    assert phoneme_to_visemes("p") == ("PP",)
    assert phoneme_to_visemes("zz9") in (("SS",), ("IH",))
    phon = [("_", 0.0, 0.2), ("m", 0.2, 0.32), ("A:", 0.32, 0.72), ("_", 0.72, 1.0)]
    tr = viseme_track(phon, num_frames=25, fps=25.0, lead_s=0.0, sigma_frames=1.0)
    assert tr.shape == (25, len(PARAMS)) and tr.dtype == np.float32
    opening = tr[:, PARAMS.index("open")]
    assert opening[13] > 0.8  # mid "A:" wide open
    assert opening[1] < 0.1 and opening[23] < 0.15  # silence closed
    assert opening[7] < opening[10] < opening[13]  # smooth onset (no jump)
    assert tr[:, PARAMS.index("press")].max() > 0.3  # the bilabial shows
    assert len(VISEMES) >= 13


def test_espeak_timings_are_monotonic_and_inside_the_audio():
    from msrs.data.synth.espeak import Espeak

    syn = Espeak.instance().synthesize(
        ["ON", "THE", "TABLE", "PLEASE"], "en-us", 170, 50
    )
    dur = len(syn.audio) / syn.sample_rate
    assert syn.sample_rate == 22050 and syn.audio.dtype == np.float32
    starts = [s for _, s, _ in syn.words]
    assert (
        starts == sorted(starts) and len(set(starts)) == 4
    )  # clitic "on the" split too
    for _, s, e in syn.words:
        assert 0 <= s < e <= dur + 1e-6
    assert {p for p, _, _ in syn.phonemes} >= {"t", "b", "p", "l"}


def test_corpus_layout_and_lrs3_format(micro_corpus):
    splits = speaker_splits(micro_corpus)
    assert len(splits["trainval"]) == 2 and len(splits["test"]) == 1
    assert splits["pretrain"] == splits["trainval"]
    assert not set(splits["test"]) & set(splits["trainval"])  # speaker-disjoint test
    assert all(len(s) == 11 for s in splits["test"] + splits["trainval"])
    mp4s = sorted(micro_corpus.glob("*/*/*.mp4"))
    assert len(mp4s) == 2 * (1 + 2) + 2
    for mp4 in mp4s:
        info = video_io.probe(mp4)
        assert info.fps == 25.0 and info.has_audio and info.audio_rate == 16000
        tr = read_transcript(mp4.with_suffix(".txt"))
        text = normalize_text(tr.text)
        assert text and [w.word for w in tr.words] == text.split()
        duration = info.num_frames / 25.0
        for a, b in zip(tr.words, tr.words[1:]):
            assert a.start < a.end <= b.start + 1e-6
        assert 0 < tr.words[0].start and tr.words[-1].end <= duration
        lm = (
            micro_corpus
            / "landmarks"
            / mp4.parent.parent.name
            / mp4.parent.name
            / f"{mp4.stem}.pkl"
        )
        import pickle

        assert len(pickle.loads(lm.read_bytes())) == info.num_frames
    pre = read_transcript(next(micro_corpus.glob("pretrain/*/00001.txt")))
    assert len(pre.words) == 12  # two GRID sentences
    import soundfile

    babble, sr = soundfile.read(micro_corpus / "noise" / "babble.wav")
    assert (
        sr == 16000 and len(babble) == 3 * 16000 and 0.2 < np.abs(babble).max() <= 0.31
    )
    cfg = json.loads((micro_corpus / "synth_config.json").read_text())
    assert cfg["num_train_speakers"] == 2


def test_corpus_is_byte_reproducible_and_resumable(
    micro_corpus, micro_config, tmp_path
):
    other = tmp_path / "again"
    generate_corpus(other, micro_config, nj=2, progress=False)
    ref = _files(micro_corpus)
    assert _files(other) == ref  # same bytes with 2 workers as with 1
    # an interrupted run: one speaker unfinished, a partial file left behind
    victim = plan_corpus(micro_config)[0].speaker
    (other / ".synth_state" / f"{victim}.done").unlink()
    (other / "trainval" / victim / "50002.mp4").write_bytes(b"partial")
    counts = generate_corpus(other, micro_config, nj=1, progress=False)
    assert counts["skipped_speakers"] == 2 and counts["utterances"] == 8
    assert _files(other) == ref


def test_other_settings_refuse_to_mix(micro_corpus, micro_config):
    with pytest.raises(ValueError, match="other settings.*seed"):
        generate_corpus(
            micro_corpus,
            dataclasses.replace(micro_config, seed=1),
            nj=1,
            progress=False,
        )


def test_babble_is_level_matched_mix():
    from msrs.data.synth.babble import synth_babble

    b = synth_babble(2.0, talkers=2, seed=0, peak=0.3)
    assert b.shape == (32000,) and b.dtype == np.float32
    assert np.abs(b).max() == pytest.approx(0.3, rel=1e-4)
    # both talkers are audible: energy in every half second
    frames = b.reshape(4, -1)
    assert (np.sqrt((frames**2).mean(axis=1)) > 0.01).all()
