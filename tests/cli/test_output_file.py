"""``-o FILE`` behaves like a plain file write (umask, symlinks), yet atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from flopsight.cli import main
from flopsight.atomic_write import write_atomically, write_bytes_atomically


@pytest.fixture
def umask_027() -> object:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_027")
def test_a_new_file_gets_0666_less_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomically(str(target), "hello")
    assert target.read_text() == "hello"
    assert _mode(target) == 0o666 & ~0o027  # 0o640, as open(path, "w") would make it


@pytest.mark.usefixtures("umask_027")
def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("before")
    target.chmod(0o664)
    write_atomically(str(target), "after")
    assert target.read_text() == "after" and _mode(target) == 0o664


def _linked_file(tmp_path: Path, name: str, text: str) -> tuple[Path, Path]:
    """A file ``real/name`` holding ``text``, and a symlink ``link.txt`` beside ``real/`` to it."""
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    real = real_folder / name
    real.write_text(text)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    return real, link


def test_a_symlink_is_followed_and_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real, link = _linked_file(tmp_path, "profile.txt", "old")
    real_folder = real.parent
    assert main(["example", "--seq-len", "8", "--depth", "0", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "TinyTransformer" in real.read_text()
    # the temporary file was made beside the target and is gone
    assert sorted(p.name for p in real_folder.iterdir()) == ["profile.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real"]


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "new.txt")
    write_atomically(str(link), "made")
    assert link.is_symlink() and (tmp_path / "new.txt").read_text() == "made"


def test_a_failed_write_through_a_symlink_leaves_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real, link = _linked_file(tmp_path, "out.txt", "before")
    real_folder = real.parent

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(str(link), "after")
    assert real.read_text() == "before" and link.is_symlink()
    assert sorted(p.name for p in real_folder.iterdir()) == ["out.txt"]


@pytest.mark.usefixtures("umask_027")
def test_bytes_are_written_as_given_with_the_same_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "snapshot.pickle"
    data = bytes(range(256)) + b"\r\n\n"  # no newline translation, no encoding
    write_bytes_atomically(str(target), data)
    assert target.read_bytes() == data and _mode(target) == 0o666 & ~0o027

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomically(str(target), b"after")
    assert target.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["snapshot.pickle"]
