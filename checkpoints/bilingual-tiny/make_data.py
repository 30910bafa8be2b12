"""Recipe step 1: joint vocabulary + pretraining data for bilingual-tiny (English + Chinese).

    .venv/bin/python checkpoints/bilingual-tiny/make_data.py /tmp/en /tmp/zh /tmp/bi

Multilingual BERT in miniature: one BERT pretrained on two languages with one vocabulary and
no parallel text. Uses the two monolingual recipes' outputs (run
`checkpoints/en-wiki-tiny/make_data.py /tmp/en` and
`checkpoints/zh-peoples-daily-tiny/make_data.py /tmp/zh` first):

- vocabulary: the English WordPiece vocabulary followed by the Chinese characters (and any
  other entries) it lacks — one table, as in mBERT;
- data: pretraining instances are made *per language* (so a "random next sentence" is always
  in the same language, as in mBERT, and NSP cannot be solved by spotting a language switch),
  then trained on together. People's Daily is larger than the Wikipedia sample, so its
  training articles are subsampled (every other one) to balance the two languages' tokens;
- held out: the validation articles of both (`wikipedia-en` and `peoples-daily-zh` splits).

Writes DIR/vocab.txt and DIR/data/{en,zh}-{train,eval}.
"""

import os
import sys

from bert_tf.data.corpora import write_pretraining_text
from bert_tf.data.pretraining import Settings, create_pretraining_data
from bert_tf.io import write_atomic
from bert_tf.text.rules import load_vocab
from course import datasets

en_dir, zh_dir, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)

# English entries first (their ids unchanged), then the Chinese ones English lacks.
vocab = list(dict.fromkeys([*load_vocab(os.path.join(en_dir, "vocab.txt")),
                            *load_vocab(os.path.join(zh_dir, "vocab.txt"))]))
vocab_path = os.path.join(out, "vocab.txt")
write_atomic(vocab_path, "\n".join(vocab) + "\n")
print(f"joint vocabulary: {len(vocab):,} entries")

zh = datasets.load("peoples-daily-zh")
texts = {
    "en-train": os.path.join(en_dir, "train.txt"),
    "en-eval": os.path.join(en_dir, "eval.txt"),
    "zh-train": os.path.join(out, "zh-train.txt"),
    "zh-eval": os.path.join(zh_dir, "eval.txt"),
}
write_pretraining_text(zh["train"]["documents"][::2], texts["zh-train"])
for name, path in texts.items():
    settings = Settings(max_seq_length=128, max_predictions_per_seq=20,
                        dupe_factor=5 if name.endswith("train") else 1, seed=12345,
                        num_shards=4 if name.endswith("train") else 1)
    m = create_pretraining_data([path], vocab_path, os.path.join(out, "data", name), settings,
                                workers=2)
    print(f"{name}: {m['instances']:,} instances")
