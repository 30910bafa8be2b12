"""Building blocks shared by BERT, GPT, ELMo-style and encoder-decoder models. One public class per file."""

from bert_tf.layers.cross_attention import CrossAttention
from bert_tf.layers.decoder_block import DecoderBlock
from bert_tf.layers.dropout import Dropout
from bert_tf.layers.embeddings import BertEmbeddings
from bert_tf.layers.feed_forward import FeedForward
from bert_tf.layers.masked_lm_head import MaskedLMHead
from bert_tf.layers.pooler import Pooler
from bert_tf.layers.scalar_mix import ScalarMix
from bert_tf.layers.self_attention import SelfAttention
from bert_tf.layers.transformer_block import TransformerBlock

__all__ = ["BertEmbeddings", "CrossAttention", "DecoderBlock", "Dropout", "FeedForward",
           "MaskedLMHead", "Pooler", "ScalarMix", "SelfAttention", "TransformerBlock"]
