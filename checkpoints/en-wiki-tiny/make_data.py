"""Recipe step 1: WordPiece vocabulary + pretraining data for en-wiki-tiny.

    .venv/bin/python checkpoints/en-wiki-tiny/make_data.py /tmp/en

Pretrains only on the *train* articles of `course.datasets`' `wikipedia-en` split (74 of 98),
so the validation/test articles of the course's Wikipedia tasks (`wiki-nsp-en`,
`wiki-cloze-qa-en`) were never seen in pretraining; the 12 validation articles are the
held-out pretraining data. Writes DIR/{train,eval}.txt (one sentence per line, blank line
between articles), DIR/vocab.txt (`bert-tf vocab`, uncased, trained on train.txt only) and
DIR/data/{train,eval} (`create-data`: 128 tokens, 20 predictions, dupe factor 10 / 1).
"""

import os
import subprocess
import sys

from bert_tf.data.corpora import write_pretraining_text
from bert_tf.data.pretraining import Settings, create_pretraining_data
from course import datasets

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
wiki = datasets.load("wikipedia-en")
texts = {}
for name, split in (("train", "train"), ("eval", "validation")):
    texts[name] = os.path.join(out, f"{name}.txt")
    info = write_pretraining_text(wiki[split]["documents"], texts[name])
    print(f"{name}: {info['documents']} articles, {info['sentences']:,} sentences, "
          f"{info['bytes']:,} bytes")
vocab = os.path.join(out, "vocab.txt")
subprocess.run([sys.executable, "-m", "bert_tf", "vocab", "--input", texts["train"],
                "--vocab-size", "8000", "--output", vocab], check=True)
for name in ("train", "eval"):
    settings = Settings(max_seq_length=128, max_predictions_per_seq=20,
                        dupe_factor=10 if name == "train" else 1, seed=12345,
                        num_shards=4 if name == "train" else 1)
    m = create_pretraining_data([texts[name]], vocab, os.path.join(out, "data", name),
                                settings, workers=2)
    print(f"{name}: {m['instances']:,} instances")
