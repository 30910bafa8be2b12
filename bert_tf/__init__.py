"""bert_tf: a readable Keras implementation of BERT and its ancestors.

Public names are imported lazily, so `import bert_tf` is instant and, under
`KERAS_BACKEND=jax`, never imports TensorFlow: TF-only parts (tf.data pipelines,
tensorflow-text ops) load only when used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "BertConfig": "bert_tf.config",
    "BertModel": "bert_tf.models.bert",
    "BertPretrainer": "bert_tf.models.pretrainer",
    "BertClassifier": "bert_tf.models.finetune",
    "BertTokenClassifier": "bert_tf.models.finetune",
    "BertSpanQA": "bert_tf.models.finetune",
    "BertTokenizer": "bert_tf.text.tokenizer",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bert_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = ["__version__", *_EXPORTS]
