"""Files are written whole or not at all: a full or read-only disk leaves nothing partial."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from cmetrack.core.tests.faults import files_under, fill_disk, lock_disk
from cmetrack.kit.storage import (
    STORAGE_MESSAGE,
    StorageUnavailable,
    save_atomically,
    staged_upload,
)


def test_a_file_is_written_whole_with_no_temporary_left(tmp_path: Path) -> None:
    target = tmp_path / "imports" / "roll.csv"
    save_atomically(target, [b"upn,name\n", b"A1,Ola\n"])
    assert target.read_bytes() == b"upn,name\nA1,Ola\n"
    assert files_under(tmp_path) == [target]


def test_a_full_disk_leaves_no_partial_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "marks.csv"
    target.write_bytes(b"the previous file")
    fill_disk(monkeypatch)
    with pytest.raises(StorageUnavailable) as caught:
        save_atomically(target, [b"x" * 100])
    assert caught.value.message == STORAGE_MESSAGE
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.ENOSPC
    assert files_under(tmp_path) == [target]
    assert target.read_bytes() == b"the previous file"


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EDQUOT])
def test_a_read_only_disk_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    lock_disk(monkeypatch, code)
    with pytest.raises(StorageUnavailable):
        save_atomically(tmp_path / "a.csv", [b"data"])
    assert files_under(tmp_path) == []


def test_a_failed_move_into_place_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("cmetrack.kit.storage.os.replace", refuse)
    with pytest.raises(StorageUnavailable):
        save_atomically(tmp_path / "a.csv", [b"data"])
    assert files_under(tmp_path) == []


def test_a_staged_upload_is_removed_after_use_and_on_errors(tmp_path: Path) -> None:
    with staged_upload([b"abc"], suffix=".csv", folder=tmp_path) as path:
        assert path.read_bytes() == b"abc"
        assert path.suffix == ".csv"
    assert files_under(tmp_path) == []
    with pytest.raises(RuntimeError), staged_upload([b"abc"], folder=tmp_path):
        raise RuntimeError("the importer broke")
    assert files_under(tmp_path) == []


def test_a_staged_upload_on_a_full_disk_never_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_disk(monkeypatch)
    ran = []
    with pytest.raises(StorageUnavailable), staged_upload([b"y" * 50], folder=tmp_path):
        ran.append(True)
    assert ran == []
    assert files_under(tmp_path) == []
