"""BERT (Devlin et al., 2018): token + segment + position embeddings, a stack of post-LN
transformer blocks, and a pooler over the first ([CLS]) token.

    inputs  = {"token_ids", "segment_ids", "padding_mask"}          # each (batch, seq)
    outputs = {"sequence_output": (batch, seq, hidden),             # one vector per token
               "pooled_output":   (batch, hidden),                  # tanh(Dense([CLS]))
               "hidden_states":   [embeddings, layer_0, ...]}       # only when asked

Everything else (pretraining heads, fine-tuning heads, checkpoint formats) is built on this.
"""

from __future__ import annotations

import keras

from bert_tf.config import BertConfig
from bert_tf.layers.embeddings import BertEmbeddings
from bert_tf.layers.pooler import Pooler
from bert_tf.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="bert_tf")
class BertModel(keras.Model):
    """The BERT encoder. `BertModel(BertConfig.preset("mini"))` or `BertModel.from_pretrained(dir)`."""

    def __init__(self, config: BertConfig | dict, output_hidden_states: bool = False, **kwargs):
        kwargs.setdefault("name", "bert")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = BertConfig.from_dict(config)
        self.config = config
        self.output_hidden_states = output_hidden_states
        c, policy = config, self.dtype_policy

        self.embeddings = BertEmbeddings(
            c.vocab_size, c.hidden_size, c.max_position_embeddings, c.type_vocab_size,
            c.hidden_dropout, c.layer_norm_epsilon, c.initializer_range,
            dtype=policy, name="embeddings")
        self.encoder_layers = [
            TransformerBlock(
                c.hidden_size, c.num_heads, c.intermediate_size, c.activation,
                c.hidden_dropout, c.attention_dropout, c.layer_norm_epsilon,
                c.initializer_range, dtype=policy, name=f"layer_{i}")
            for i in range(c.num_layers)
        ]
        self.pooler = Pooler(c.hidden_size, c.initializer_range, dtype=policy, name="pooler")
        # Shapes only depend on the config, so the weights are created right away: a
        # checkpoint can be loaded and `word_embeddings` used before the first call.
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        hidden = (None, None, self.config.hidden_size)
        self.embeddings.build()
        for layer in self.encoder_layers:
            layer.build(hidden)
        self.pooler.build(hidden)
        self.built = True

    def call(self, inputs, training=False, output_hidden_states=None):
        token_ids = inputs["token_ids"]
        # Single sentences may leave out segments (all "sentence A") and the mask (no padding).
        segment_ids = inputs.get("segment_ids")
        if segment_ids is None:
            segment_ids = keras.ops.zeros_like(token_ids)
        padding_mask = inputs.get("padding_mask")

        x = self.embeddings(token_ids, segment_ids, training=training)
        hidden_states = [x]
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=padding_mask, training=training)
            hidden_states.append(x)

        outputs = {"sequence_output": x, "pooled_output": self.pooler(x)}
        if output_hidden_states is None:
            output_hidden_states = self.output_hidden_states
        if output_hidden_states:
            outputs["hidden_states"] = hidden_states
        return outputs

    @property
    def word_embeddings(self):
        """The (vocab_size, hidden_size) word-embedding variable (tied to the MLM output)."""
        return self.embeddings.word_embeddings

    # ---- saving and loading ----------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(),
                "output_hidden_states": self.output_hidden_states}

    @classmethod
    def from_pretrained(cls, path, config: BertConfig | None = None, **kwargs) -> BertModel:
        """Load a Hugging Face, Google, keras-hub or bert_tf checkpoint (format auto-detected)."""
        from bert_tf.checkpoints import load_pretrained

        return load_pretrained(cls, path, config=config, **kwargs)

    def save_pretrained(self, directory) -> None:
        """Write the library's own format: `config.json` + `model.safetensors`."""
        from bert_tf.checkpoints import save_pretrained

        save_pretrained(self, directory)
