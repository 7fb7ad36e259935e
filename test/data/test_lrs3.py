"""LRS3 transcript parsing, normalisation and word-boundary segmentation."""

import pytest

from msrs.data.lrs3 import (
    Lrs3FormatError,
    Transcript,
    Word,
    clean_words,
    format_transcript,
    normalize_text,
    parse_transcript,
    read_transcript,
    segment_words,
)

PRETRAIN = """Text:  SO WE {LG} STARTED THE PROJECT
Conf:  4

WORD START END ASDSCORE
SO 0.10 0.25 5.1
WE 0.25 0.40 6.0
{LG} 0.40 0.90 1.2
STARTED 0.95 1.40 7.5
THE 1.40 1.50 7.1
PROJECT 1.50 2.10 8.0
"""


def test_parse_pretrain_layout():
    tr = parse_transcript(PRETRAIN, "x.txt")
    assert tr.text == "SO WE {LG} STARTED THE PROJECT"
    assert tr.conf == "4"
    assert [w.word for w in tr.words] == [
        "SO",
        "WE",
        "{LG}",
        "STARTED",
        "THE",
        "PROJECT",
    ]
    assert tr.words[3] == Word("STARTED", 0.95, 1.40, 7.5)


def test_parse_trainval_without_table_and_windows_newlines():
    tr = parse_transcript("Text:  HELLO THERE\r\nConf:  3\r\n", "y.txt")
    assert tr.text == "HELLO THERE" and tr.conf == "3" and tr.words == []


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("so we {LG} started", "SO WE STARTED"),
        ("Café au lait", "CAFE AU LAIT"),
        ("it's   fine", "IT'S FINE"),
        ("don\u2019t stop", "DON'T STOP"),
        ("T-SHIRT, 42!", "T SHIRT 42"),
        ("{LG}", ""),
        ("'' ' ", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_iso_8859_1_file_is_read(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Text:  NA\xefVE CAF\xc9\nConf:  4\n".encode("latin-1"))
    tr = read_transcript(path)
    assert normalize_text(tr.text) == "NAIVE CAFE"


def test_malformed_files_name_the_file_and_line(tmp_path):
    with pytest.raises(Lrs3FormatError, match="a.txt: no 'Text:' line"):
        parse_transcript("Conf: 4\n", "a.txt")
    bad = "Text:  A B\nConf:  4\n\nWORD START END ASDSCORE\nA zero 0.5 1\n"
    with pytest.raises(Lrs3FormatError, match=r"b.txt:5: non-numeric"):
        parse_transcript(bad, "b.txt")
    with pytest.raises(Lrs3FormatError, match=r"c.txt:5: timing row"):
        parse_transcript("Text:  A\n\nWORD START END ASDSCORE\n\nA 0.1\n", "c.txt")


def test_format_round_trip():
    tr = parse_transcript(PRETRAIN, "x")
    again = parse_transcript(format_transcript(tr), "x")
    assert again == tr


def test_clean_words_drops_tags_and_clamps_to_duration():
    tr = parse_transcript(PRETRAIN, "x")
    words, dropped = clean_words(tr.words, duration=1.45)
    assert [w.word for w in words] == ["SO", "WE", "STARTED", "THE"]
    assert dropped == 1  # PROJECT starts at 1.50 >= 1.45
    assert words[-1].end == pytest.approx(1.45)  # THE ends at 1.50, clamped


def _words(spec):
    return [Word(w, s, e) for w, s, e in spec]


def test_short_clip_is_one_untrimmed_segment():
    words = _words([("HELLO", 0.3, 0.8), ("WORLD", 0.9, 1.4)])
    segs = segment_words(words, max_duration=16.0, duration=2.0)
    assert len(segs) == 1
    assert (segs[0].start, segs[0].end, segs[0].text) == (0.0, 2.0, "HELLO WORLD")


def test_one_word_utterance():
    segs = segment_words(_words([("YES", 0.5, 0.9)]), max_duration=16.0, duration=1.2)
    assert [(s.start, s.end, s.text) for s in segs] == [(0.0, 1.2, "YES")]


def test_no_words_gives_no_segment():
    assert segment_words([], 16.0, 3.0) == []


def test_long_clip_segments_respect_limit_and_cover_all_words_in_order():
    # 40 words of 0.4 s separated by 0.1 s pauses: 20 s of speech
    words = _words([(f"W{i}", 0.5 * i, 0.5 * i + 0.4) for i in range(40)])
    segs = segment_words(words, max_duration=6.0, duration=20.5, margin=0.2)
    assert len(segs) == 4
    assert " ".join(s.text for s in segs) == " ".join(w.word for w in words)
    for a, b in zip(segs, segs[1:]):
        assert a.end <= b.start + 1e-9  # no overlap, in order
    for s in segs:
        assert s.end - s.start <= 6.0 + 1e-9
        first = next(w for w in words if w.word == s.text.split()[0])
        last = next(w for w in words if w.word == s.text.split()[-1])
        assert s.start <= first.start and s.end >= last.end  # whole words inside
    assert segs[0].start == pytest.approx(0.0)
    assert segs[-1].end <= 20.5


def test_boundary_margin_stops_at_pause_midpoint():
    words = _words([("A", 0.0, 5.0), ("B", 5.1, 9.0), ("C", 9.05, 14.0)])
    segs = segment_words(words, max_duration=10.0, duration=14.5, margin=0.5)
    assert [s.text for s in segs] == ["A B", "C"]
    assert segs[0].end == pytest.approx(9.025)  # midpoint of the 50 ms pause
    assert segs[1].start == pytest.approx(9.025)


def test_word_longer_than_limit_gets_its_own_segment():
    words = _words([("A", 0.0, 0.5), ("LOOONG", 0.6, 8.0), ("B", 8.1, 8.5)])
    segs = segment_words(words, max_duration=3.0, duration=9.0, margin=0.0)
    assert [s.text for s in segs] == ["A", "LOOONG", "B"]


def test_invalid_max_duration():
    with pytest.raises(ValueError, match="max_duration"):
        segment_words(_words([("A", 0, 20)]), max_duration=0, duration=30)


def test_transcript_default_conf_is_written():
    text = format_transcript(Transcript("A B"))
    assert text.splitlines()[:2] == ["Text:  A B", "Conf:  4"]
