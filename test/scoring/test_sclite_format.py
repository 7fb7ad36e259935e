import io

from msrs.scoring.alignment import align_utterances, tokenize
from msrs.scoring.sclite_format import format_alignment, write_result


def _uas(pairs):
    ids = [f"spk{i % 2}_u{i}" for i in range(len(pairs))]
    return align_utterances(
        ids,
        [tokenize(r, "word") for r, _ in pairs],
        [tokenize(h, "word") for _, h in pairs],
    )


def test_pra_block_cases_asterisks_and_eval_columns():
    ua = _uas([("THE CAT SAT ON THE MAT", "THE CAT SET ON THE MAT NOW")])[0]
    lines = format_alignment(ua)
    assert lines[0] == "id: (spk0_u0)"
    assert lines[1] == "Scores: (#C #S #D #I) 5 1 0 1"
    assert lines[2] == "REF:  the cat SAT on the mat ***"
    assert lines[3] == "HYP:  the cat SET on the mat NOW"
    assert lines[4] == "Eval:         S              I"
    ua = _uas([("HELLO WORLD", "HELLO")])[0]
    assert format_alignment(ua)[3] == "HYP:  hello *****"


def _sum_avg_fields(text):
    # What ESPnet's show_asr_result.sh does: grep Avg | drop label | tr '|' ' '.
    line = next(l for l in text.splitlines() if "Sum/Avg" in l)
    return [float(x) for x in line.replace("Sum/Avg", "").replace("|", " ").split()]


def test_result_file_summary_speakers_and_alignments():
    uas = _uas([("A B C D", "A B C D"), ("E F", "E G"), ("H", ""), ("I J", "I J K")])
    f = io.StringIO()
    total = write_result(
        f, uas, "sys1", "word", utt2spk={u.utt_id: u.utt_id.split("_")[0] for u in uas}
    )
    text = f.getvalue()
    assert (total.corr, total.sub, total.dels, total.ins) == (7, 1, 1, 1)
    snt, wrd, corr, sub, dele, ins, err, serr = _sum_avg_fields(text)
    assert (snt, wrd) == (4, 9)
    assert (corr, sub, dele, ins, err, serr) == (77.8, 11.1, 11.1, 11.1, 33.3, 75.0)
    assert (
        "| SPKR" in text
        and "| spk0" in text
        and "| spk1" in text
        and "| Median" in text
    )
    assert text.index("Sum/Avg") < text.index("DUMP OF SYSTEM ALIGNMENT STRUCTURE")
    assert text.count("id: (") == 4
    assert "sys1" in text
