"""Recipe step 1: character vocabulary + pretraining data for zh-peoples-daily-tiny.

    .venv/bin/python checkpoints/zh-peoples-daily-tiny/make_data.py /tmp/zh

Pretrains only on the *train* articles of `course.datasets`' `peoples-daily-zh` split (2,536
of 3,165), so the validation/test articles of the course's People's Daily tasks
(`peoples-daily-ner-zh`, `peoples-daily-nsp-zh`) were never seen in pretraining; the 309
validation articles are the held-out pretraining data. Writes DIR/vocab.txt (the 5 BERT
special tokens, then every character seen at least 3 times in the training articles, most
frequent first, then ASCII letters/digits and their `##` continuations so Latin words and
numbers still tokenize, and ASCII punctuation, which newspaper text writes full-width but
web text such as the course's review data does not), DIR/{train,eval}.txt and
DIR/data/{train,eval} via `create-data`.
"""

import collections
import os
import string
import sys

from bert_tf.data.corpora import write_pretraining_text
from bert_tf.data.pretraining import Settings, create_pretraining_data
from course import datasets

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
corpus = datasets.load("peoples-daily-zh")
splits = {"train": corpus["train"]["documents"], "eval": corpus["validation"]["documents"]}
counts = collections.Counter(ch for d in splits["train"] for s in d for ch in s
                             if not ch.isspace())
chars = [c for c, n in counts.most_common() if n >= 3]
ascii_ = list(string.ascii_lowercase + string.digits)
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
seen = set(vocab)
for tok in [*chars, *ascii_, *("##" + c for c in ascii_), *string.punctuation]:
    if tok not in seen and tok.lower() == tok:
        vocab.append(tok)
        seen.add(tok)
with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(vocab) + "\n")
for name, documents in splits.items():
    text = os.path.join(out, f"{name}.txt")
    write_pretraining_text(documents, text)
    settings = Settings(max_seq_length=128, max_predictions_per_seq=20,
                        dupe_factor=5 if name == "train" else 1, seed=12345,
                        num_shards=4 if name == "train" else 1)
    m = create_pretraining_data([text], os.path.join(out, "vocab.txt"),
                                os.path.join(out, "data", name), settings, workers=2)
    print(name, len(documents), "articles,", m["instances"], "instances")
print("vocab", len(vocab))
