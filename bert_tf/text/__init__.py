"""Text processing: the exact BERT WordPiece tokenizer and WordPiece vocabulary training.

Nothing here imports TensorFlow at import time. `BertTokenizer` batches on tensorflow-text
(loaded on first use) when TensorFlow is the Keras backend, in pure Python otherwise.
"""

from bert_tf.text.tokenizer import SPECIAL_TOKENS, BertTokenizer

__all__ = ["SPECIAL_TOKENS", "BertTokenizer"]
