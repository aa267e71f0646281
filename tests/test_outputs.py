"""abm.outputs: the one rule for output directories, atomic replacement, and recovery after a
kill at every step of a replacement (real SIGKILLs of a writer process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from abm import outputs
from abm.jsonio import write_json
from abm.outputs import OutputError, check, default_dir, replacing, safe_name

ROOT = Path(__file__).resolve().parents[1]


def _write(folder: Path, kind: str = "run", text: str = "new", name: str = "summary.json") -> Path:
    """A fake result of `kind` in `folder` (one file and the manifest)."""
    with replacing(folder, kind) as staging:
        (staging / name).write_text(text)
        write_json(staging / "manifest.json", {"package": "abm-mining", "kind": kind})
    return folder


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_new_empty_and_own_directories_are_written(tmp_path):
    new = _write(tmp_path / "a" / "b")  # missing parents are made
    assert (new / "summary.json").read_text() == "new"
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty)
    assert (empty / "summary.json").read_text() == "new"
    _write(empty, text="newer")  # an earlier run: replaced
    assert (empty / "summary.json").read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "empty"]  # no leftovers


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: (d / "thesis.txt").write_text("mine"), "holds files abm did not write"),
        (lambda d: write_json(d / "manifest.json", {"package": "other"}), "did not write"),
        (
            lambda d: write_json(d / "manifest.json", {"package": "abm-mining", "kind": "sweep"}),
            "holds the result of `abm sweep`, not of `abm run`",
        ),
        (
            lambda d: (
                write_json(d / "manifest.json", {"package": "abm-mining", "kind": "run"}),
                (d / "notes.txt").write_text("mine"),
            ),
            r"earlier `abm run` result but also files abm did not write \(notes.txt\)",
        ),
        (
            lambda d: (
                write_json(d / "manifest.json", {"package": "abm-mining", "kind": "run"}),
                (d / "report").mkdir(),
                write_json(
                    d / "report" / "manifest.json", {"package": "abm-mining", "kind": "report"}
                ),
                (d / "report" / "mine.txt").write_text("mine"),
            ),
            r"also files abm did not write \(report\)",
        ),
    ],
    ids=["user-file", "foreign-manifest", "other-kind", "extra-file", "extra-file-in-report"],
)
def test_anything_else_is_refused_and_left_as_it_was(tmp_path, setup, message):
    d = tmp_path / "out"
    d.mkdir()
    setup(d)
    before = _tree(tmp_path)
    with pytest.raises(OutputError, match=message):
        _write(d)
    with pytest.raises(OutputError, match=message):
        check(d, "run")
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_report_inside_a_run_goes_with_the_run(tmp_path):
    d = _write(tmp_path / "run")
    _write(d / "report", kind="report", name="report.md")
    _write(d, text="again")  # the report of the earlier run is abm's: replaced with it
    assert not (d / "report").exists() and (d / "summary.json").read_text() == "again"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (lambda t: t / "file.txt", "is a file, not a directory"),
        (lambda t: t / "file.txt" / "sub", r"is under .*file.txt, which is a file"),
        (lambda t: Path("/proc/abm-out"), "cannot create a directory in /proc"),
        (lambda t: t, "is the current directory or contains it"),
        (lambda t: t.parent, "is the current directory or contains it"),
        (lambda t: Path("."), "is the current directory or contains it"),
    ],
    ids=["file", "under-a-file", "proc", "cwd", "parent-of-cwd", "dot"],
)
def test_paths_that_cannot_be_written_are_refused(tmp_path, monkeypatch, path, message):
    (tmp_path / "file.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    with pytest.raises(OutputError, match=message):
        check(path(tmp_path), "run")
    assert _tree(tmp_path) == before and not Path("/proc/abm-out").exists()


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("baseline", "baseline"),
        ("../../x", "x"),
        ("/etc/passwd", "etc_passwd"),
        ("a b\tc\x00d", "a_b_c_d"),
        ("..", None),
        ("/", None),
        ("", None),
    ],
)
def test_default_paths_are_sanitised_and_stay_under_results(name, safe):
    if safe is None:
        with pytest.raises(OutputError, match="no usable directory name"):
            safe_name(name)
        return
    assert safe_name(name) == safe
    path = default_dir(name, "seed-1")
    assert path == Path("results", safe, "seed-1")
    assert Path("results").resolve() in path.resolve().parents


def test_a_failing_writer_leaves_the_earlier_result(tmp_path):
    d = _write(tmp_path / "out", text="old")
    with pytest.raises(RuntimeError, match="boom"), replacing(d, "run") as staging:
        (staging / "summary.json").write_text("half")
        raise RuntimeError("boom")
    assert (d / "summary.json").read_text() == "old"
    with pytest.raises(RuntimeError, match="no manifest.json"), replacing(d, "run") as staging:
        (staging / "summary.json").write_text("no manifest")
    assert (d / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_between_the_two_renames_puts_the_earlier_result_back(tmp_path, monkeypatch):
    d = _write(tmp_path / "out", text="old")
    real = os.rename
    calls = []

    def rename(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # staging -> final
            raise OSError("disk gone")
        real(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)
    with pytest.raises(OSError, match="disk gone"):
        _write(d)
    assert calls[0][0] == "out" and ".out.abm-old-" in calls[0][1]
    assert (d / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---------------------------------------------------------------------------------------------
# a writer process SIGKILLed at each step of a replacement
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from abm import outputs
    from abm.jsonio import write_json

    folder, kill_after = Path(sys.argv[1]), int(sys.argv[2])
    real, done = os.rename, []

    def rename(src, dst):
        if len(done) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)
        done.append(dst)

    def rmtree(path, ignore_errors=False):
        os.kill(os.getpid(), signal.SIGKILL)  # before the earlier result is removed

    outputs.os.rename, outputs.shutil.rmtree = rename, rmtree
    with outputs.replacing(folder, "run") as staging:
        (staging / "summary.json").write_text("new")
        write_json(staging / "manifest.json", {"package": "abm-mining", "kind": "run"})
    """
)


@pytest.mark.parametrize(
    ("kill_after", "expected"),
    [(0, "old"), (1, "old"), (2, "new")],
    ids=["before-any-rename", "between-the-renames", "before-removing-the-old"],
)
def test_a_killed_replacement_loses_nothing(tmp_path, kill_after, expected):
    d = _write(tmp_path / "out", text="old")
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(d), str(kill_after)], cwd=ROOT, capture_output=True
    )
    assert proc.returncode == -9, proc.stderr.decode()
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "out")
    assert left, "the kill should leave a staging or old directory beside the result"
    if kill_after == 1:  # killed between the renames: the result itself is missing for now
        assert not d.exists() and any(".abm-old-" in n for n in left)
        old = tmp_path / next(n for n in left if ".abm-old-" in n)
        assert (old / "summary.json").read_text() == "old"  # findable
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check(d, "run")  # the next command writing there repairs it
    restored = [w for w in caught if "restored the previous result" in str(w.message)]
    assert len(restored) == (kill_after == 1)
    assert (d / "summary.json").read_text() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    _write(d, text="next")  # and the directory is usable again
    assert (d / "summary.json").read_text() == "next"


def test_leftovers_of_a_live_process_are_not_touched(tmp_path):
    d = _write(tmp_path / "out", text="old")
    live = tmp_path / f".out.abm-staging-{outputs._host()}-{os.getppid()}-abc"
    live.mkdir()
    other_host = tmp_path / ".out.abm-old-elsewhere-1-abc"
    other_host.mkdir()
    check(d, "run")
    assert live.exists() and other_host.exists()
    assert json.loads((d / "manifest.json").read_text())["kind"] == "run"
