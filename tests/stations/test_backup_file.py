"""Writing the backup file: a path that cannot take it is refused plainly, nothing left behind."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import zipfile

import pytest

from prepaid.backup import write_backup_file
from prepaid.core.errors import InvalidInput


def test_a_backup_onto_a_directory_is_refused_and_leaves_nothing(tmp_path):
    target = tmp_path / "archive"
    target.mkdir()
    with pytest.raises(InvalidInput) as refused:
        write_backup_file(target, b"encrypted", force=True)
    assert refused.value.code == "cannot_write"
    assert str(target) in refused.value.message
    assert [p.name for p in tmp_path.iterdir()] == ["archive"]
    assert list(target.iterdir()) == []


def test_file_errors_read_in_chinese(tmp_path):
    from django.utils import translation

    from prepaid.backup import read_backup

    target = tmp_path / "archive"
    target.mkdir()
    with pytest.raises(InvalidInput) as refused:
        write_backup_file(target, b"encrypted", force=True)
    with translation.override("zh-hans"):
        assert refused.value.translate(translation.gettext) == f"无法写入 {target}：这是一个目录"
    missing = tmp_path / "missing.backup"
    with pytest.raises(InvalidInput) as refused:
        read_backup(missing, "passphrase")
    with translation.override("zh-hans"):
        said = refused.value.translate(translation.gettext)
    assert said == f"无法读取 {missing}：文件或目录不存在"


def test_a_backup_file_is_the_owners_alone_before_it_is_renamed_into_place(tmp_path, monkeypatch):
    """It holds the card key: mode 0600 already when it is renamed into place (and from its
    creation, tests/test_home.py), not made private only afterwards."""
    seen: list[int] = []
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        seen.append(stat.S_IMODE(os.stat(source).st_mode))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    old = os.umask(0o022)
    try:
        write_backup_file(tmp_path / "evening.backup", b"encrypted", force=False)
    finally:
        os.umask(old)
    assert seen == [0o600]
    assert stat.S_IMODE((tmp_path / "evening.backup").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        ("gzip", gzip.compress),
        ("zip", lambda data: _zipped(data)),
        ("xz", lzma.compress),
        ("bzip2", bz2.compress),
        ("7z", lambda data: b"7z\xbc\xaf\x27\x1c\x00\x04" + data),
        ("RAR", lambda data: b"Rar!\x1a\x07\x01\x00" + data),
        ("zstd", lambda data: b"\x28\xb5\x2f\xfd\x24" + data),
    ],
)
def test_a_compressed_backup_is_told_to_be_decompressed_first(kind, compress):
    """Someone compressed the backup to mail it: not "not a backup" alone, but what to do."""
    from django.utils import translation

    from prepaid.backup import MAGIC, read_header

    with pytest.raises(InvalidInput) as refused:
        read_header(compress(MAGIC + b"scrypt n=32768 r=8 p=1 salt=00\n" + b"x" * 200))
    assert refused.value.code == "not_a_backup"
    assert refused.value.message == (
        f"This file is compressed ({kind}), not a Prepaid backup itself: decompress it "
        "first, then restore the backup file it holds."
    )
    with translation.override("zh-hans"):
        assert refused.value.translate(translation.gettext) == (
            f"该文件是压缩文件（{kind}），本身不是预付费系统的备份：请先解压缩，"
            "再恢复其中的备份文件。"
        )


def _zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("site.backup", data)
    return buffer.getvalue()
