import subprocess

from msrs.report.environment import collect_environment, git_revision


def _git(cwd, *args):
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_git_revision_and_dirty_flag(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("a")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "commit", "-q", "-m", "x")
    info = git_revision(tmp_path)
    assert len(info["revision"]) == 40 and info["dirty"] is False
    (tmp_path / "untracked.txt").write_text("u")
    assert git_revision(tmp_path)["dirty"] is False  # untracked files do not count
    (tmp_path / "f.txt").write_text("b")
    assert git_revision(tmp_path)["dirty"] is True


def test_not_a_git_tree(tmp_path):
    info = git_revision(tmp_path)
    assert info["revision"] == "unknown" and info["dirty"] is None


def test_collect_environment_fields():
    env = collect_environment()
    assert set(env) >= {"date", "python", "platform", "cpu", "gpu", "versions", "git"}
    assert env["versions"]["espnet"] == "202511" and env["versions"]["msrs"]
    assert env["cpu"] and env["gpu"]
