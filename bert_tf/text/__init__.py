"""Text processing: the exact BERT WordPiece tokenizer and WordPiece vocabulary training.

Nothing here imports TensorFlow at import time; the fast batch path of
`BertTokenizer` loads tensorflow-text on first use.
"""

from bert_tf.text.tokenizer import SPECIAL_TOKENS, BertTokenizer

__all__ = ["SPECIAL_TOKENS", "BertTokenizer"]
