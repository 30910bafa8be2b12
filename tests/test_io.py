"""bert_tf.io.atomic_write: a file appears complete or not at all."""

import os
import stat

import pytest

from bert_tf.io import atomic_write, write_atomic


def test_writes_bytes_and_text(tmp_path):
    write_atomic(tmp_path / "a.bin", b"\x00\x01")
    write_atomic(tmp_path / "sub" / "b.txt", "héllo\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(os.stat(tmp_path / "a.bin").st_mode) == 0o644


def test_an_error_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "vocab.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_write(target, "w", encoding="utf-8") as f:
            f.write("new, half written")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocab.txt"]


def test_the_new_content_is_invisible_until_the_block_ends(tmp_path):
    target = tmp_path / "metrics.json"
    with atomic_write(target, "w", encoding="utf-8") as f:
        f.write("{}")
        assert not target.exists()
    assert target.read_text() == "{}"
