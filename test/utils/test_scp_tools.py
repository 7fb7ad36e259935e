"""utils/filter_scp.sh, utt2spk_to_spk2utt.sh, spk2utt_to_utt2spk.sh."""

from utils_helpers import run

SCP = "c1 /p/c1.wav\na1 /p/a1.wav\nb1 /p/b1.wav\nb2 /p/b2.wav\n"


def test_filter_keeps_input_order(tmp_path):
    (tmp_path / "in.scp").write_text(SCP)
    (tmp_path / "ids").write_text("b1\nc1 extra fields\nzz\n")
    p = run("filter_scp.sh", str(tmp_path / "ids"), str(tmp_path / "in.scp"))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "c1 /p/c1.wav\nb1 /p/b1.wav\n"
    p = run(
        "filter_scp.sh", "--exclude", str(tmp_path / "ids"), str(tmp_path / "in.scp")
    )
    assert p.stdout == "a1 /p/a1.wav\nb2 /p/b2.wav\n"


def test_filter_stdin_and_field(tmp_path):
    (tmp_path / "ids").write_text("/p/a1.wav\n")
    p = run("filter_scp.sh", "-f", "2", str(tmp_path / "ids"), input=SCP.encode())
    assert p.returncode == 0 and p.stdout == "a1 /p/a1.wav\n"


def test_filter_bytes_survive(tmp_path):
    data = "u1 ÉCOLE ça\nu2 naïve\n".encode("utf-8")
    (tmp_path / "text").write_bytes(data)
    (tmp_path / "ids").write_text("u2\n")
    p = run("filter_scp.sh", "--exclude", str(tmp_path / "ids"), str(tmp_path / "text"))
    assert p.stdout.encode("utf-8") == data.split(b"\n")[0] + b"\n"


def test_filter_missing_idlist(tmp_path):
    p = run("filter_scp.sh", str(tmp_path / "nope"), input=b"")
    assert p.returncode == 1 and "nope: No such file or directory" in p.stderr


def test_spk2utt_round_trip(tmp_path):
    (tmp_path / "utt2spk").write_text("b_1 B\na_1 A\na_2 A\nb_2 B\n")
    p = run("utt2spk_to_spk2utt.sh", str(tmp_path / "utt2spk"))
    assert p.returncode == 0 and p.stdout == "A a_1 a_2\nB b_1 b_2\n"
    p2 = run("spk2utt_to_utt2spk.sh", input=p.stdout.encode())
    assert p2.returncode == 0 and p2.stdout == "a_1 A\na_2 A\nb_1 B\nb_2 B\n"


def test_malformed_inputs(tmp_path):
    (tmp_path / "utt2spk").write_text("a_1 A\na_2\n")
    p = run("utt2spk_to_spk2utt.sh", str(tmp_path / "utt2spk"))
    assert (
        p.returncode == 1 and "utt2spk:2: expected '<utterance> <speaker>'" in p.stderr
    )
    p = run("spk2utt_to_utt2spk.sh", input=b"A a_1 a_2\nB a_2\n")
    assert p.returncode == 1 and "<stdin>:2: utterance 'a_2' also on line 1" in p.stderr
