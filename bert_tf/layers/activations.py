"""Activation functions by explicit name (see `bert_tf.config`: "gelu" is ambiguous).

Layers store the *name* in their config and look the function up here, so saved models
never contain a lambda and load in Keras safe mode.
"""

from keras import ops


def gelu_approximate(x):
    """GELU, tanh approximation: the original Google BERT `gelu` (HF `gelu_new`, keras-hub)."""
    return ops.gelu(x, approximate=True)


def gelu_exact(x):
    """GELU with the exact erf: what Hugging Face calls `gelu`."""
    return ops.gelu(x, approximate=False)


_ACTIVATIONS = {
    "gelu_approximate": gelu_approximate,
    "gelu_exact": gelu_exact,
    "relu": ops.relu,
    "tanh": ops.tanh,
    "silu": ops.silu,
}


def get_activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]
