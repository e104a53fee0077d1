"""Writing the backup file: a path that cannot take it is refused plainly, nothing left behind."""

from __future__ import annotations

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
