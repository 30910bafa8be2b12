"""BERT pretraining: masked language model (MLM) + next sentence prediction (NSP).

    inputs  = BertModel inputs + {"masked_positions": (batch, predictions)}
    outputs = {"mlm_logits": (batch, predictions, vocab),   # only at the masked positions
               "nsp_logits": (batch, 2)}                    # 0 = "is next", 1 = "random"

Computing the vocabulary-sized logits only at the ~15% masked positions is what makes
pretraining affordable: the output projection is the single largest matmul otherwise.
"""

from __future__ import annotations

import keras

from bert_tf.config import BertConfig
from bert_tf.layers.masked_lm_head import MaskedLMHead
from bert_tf.models.bert import BertModel


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPretrainer(keras.Model):
    """`BertPretrainer(BertConfig.preset("mini"))`; after pretraining, `.backbone` is the encoder."""

    def __init__(self, backbone: BertModel | BertConfig, **kwargs):
        kwargs.setdefault("name", "bert_pretrainer")
        super().__init__(**kwargs)
        if not isinstance(backbone, BertModel):
            backbone = BertModel(backbone, dtype=self.dtype_policy)
        self.backbone = backbone
        c = backbone.config
        self.mlm_head = MaskedLMHead(c.vocab_size, c.hidden_size, c.activation,
                                     c.layer_norm_epsilon, c.initializer_range,
                                     dtype=self.dtype_policy, name="mlm_head")
        self.nsp_head = keras.layers.Dense(
            2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=c.initializer_range),
            dtype=self.dtype_policy, name="nsp_head")
        self.build()

    @property
    def config(self) -> BertConfig:
        return self.backbone.config

    def build(self, input_shape=None):
        if self.built:
            return
        self.backbone.build()
        self.mlm_head.build()
        self.nsp_head.build((None, self.config.hidden_size))
        self.built = True

    def call(self, inputs, training=False):
        outputs = self.backbone(inputs, training=training)
        mlm_logits = self.mlm_head(outputs["sequence_output"], inputs["masked_positions"],
                                   self.backbone.word_embeddings)
        nsp_logits = self.nsp_head(outputs["pooled_output"])
        return {"mlm_logits": mlm_logits, "nsp_logits": nsp_logits}

    def get_config(self):
        return {**super().get_config(),
                "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    @classmethod
    def from_pretrained(cls, path, config: BertConfig | None = None, **kwargs) -> BertPretrainer:
        """Like `BertModel.from_pretrained`, also loading the MLM/NSP heads when present."""
        from bert_tf.checkpoints import load_pretrained

        return load_pretrained(cls, path, config=config, **kwargs)

    def save_pretrained(self, directory) -> None:
        from bert_tf.checkpoints import save_pretrained

        save_pretrained(self, directory)
