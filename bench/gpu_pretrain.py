"""BERT pretraining throughput on a GPU: bert_tf BertPretrainer, JAX backend, bf16.

BERT-base (L12/H768), seq 128, MLM (20 predictions) + NSP, AdamW, mixed_bfloat16, one jitted
stateless train step. Inputs are numpy arrays: TensorFlow is never imported (checked at the
end). Prints sequences/s and MFU against the GPU's dense bf16 peak.

    KERAS_BACKEND=jax python bench/gpu_pretrain.py [--batch 256] [--peak-tflops 989]

Attention dropout is 0 here (hidden dropout stays 0.1) so that attention goes through
`keras.ops.dot_product_attention` and the backend's fused kernel; say so when quoting numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import _benchpath  # noqa: F401  (before other packages: repo root, not bench/, on sys.path)

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np

# Dense bf16 peaks (TFLOP/s, no sparsity) by substrings of jax's device_kind.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
                    "A10": 125.0, "V100": 125.0, "T4": 65.0, "RTX 4090": 165.0}


def flops_per_sequence(c, seq, predictions):
    h, inter = c.hidden_size, c.intermediate_size
    n_encoder = c.num_layers * (4 * h * h + 2 * h * inter)
    per_token = 6 * n_encoder + 12 * c.num_layers * h * seq
    return seq * per_token + predictions * 6 * (h * h + h * c.vocab_size)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="base")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--predictions", type=int, default=20)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--dtype", default="mixed_bfloat16")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="the accelerator's dense bf16 peak (default: looked up by device name)")
    args = p.parse_args(argv)

    import jax
    import keras

    from bert_tf.config import BertConfig
    from bert_tf.models.pretrainer import BertPretrainer
    from bert_tf.train.losses import sparse_softmax_cross_entropy

    assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"
    device = jax.devices()[0]
    c = BertConfig.preset(args.preset, attention_dropout=0.0)
    # Not keras.utils.set_random_seed: it also seeds (and so imports) TensorFlow when installed.
    random.seed(0)
    np.random.seed(0)
    model = BertPretrainer(c, dtype=args.dtype)
    optimizer = keras.optimizers.AdamW(1e-4, weight_decay=0.01)
    optimizer.build(model.trainable_variables)

    def loss_fn(trainable, non_trainable, x, y):
        # The losses `bert-tf pretrain` uses (every prediction is real here: no weights).
        out, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        mlm = sparse_softmax_cross_entropy(y["mlm"], out["mlm_logits"])
        nsp = sparse_softmax_cross_entropy(y["nsp"], out["nsp_logits"])
        return keras.ops.mean(mlm) + keras.ops.mean(nsp), non_trainable

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    @jax.jit
    def train_step(state, x, y):
        trainable, non_trainable, opt_vars = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, x, y)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return loss, (trainable, non_trainable, opt_vars)

    rng = np.random.default_rng(0)
    b, s, n = args.batch, args.seq, args.predictions
    x = {"token_ids": rng.integers(1000, c.vocab_size, (b, s)).astype("int32"),
         "segment_ids": (np.arange(s)[None] >= s // 2).repeat(b, 0).astype("int32"),
         "padding_mask": np.ones((b, s), "int32"),
         "masked_positions": np.sort(rng.integers(1, s, (b, n)), axis=1).astype("int32")}
    y = {"mlm": rng.integers(1000, c.vocab_size, (b, n)).astype("int32"),
         "nsp": rng.integers(0, 2, (b,)).astype("int32")}
    x, y = jax.device_put(x), jax.device_put(y)
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])

    start = time.perf_counter()
    for _ in range(args.warmup):
        loss, state = train_step(state, x, y)
    loss.block_until_ready()
    print(f"compile + {args.warmup} warm-up steps: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    for _ in range(args.steps):
        loss, state = train_step(state, x, y)
    loss.block_until_ready()
    elapsed = time.perf_counter() - start

    seqs = args.steps * b / elapsed
    tflops = seqs * flops_per_sequence(c, s, n) / 1e12
    peak = args.peak_tflops or next(
        (v for k, v in BF16_PEAK_TFLOPS.items() if k in device.device_kind), None)
    print(f"device: {device.device_kind} ({device.platform}), BERT-{args.preset} "
          f"L{c.num_layers}/H{c.hidden_size}, seq {s}, batch {b}, {n} masked, {args.dtype}")
    print(f"loss {float(loss):.3f}; {seqs:.1f} sequences/s; {tflops:.1f} TFLOP/s achieved")
    if peak:
        print(f"MFU: {100 * tflops / peak:.1f}% of {peak:.0f} TFLOP/s bf16 peak")
    else:
        print("MFU: unknown peak for this device (pass --peak-tflops)")
    assert "tensorflow" not in sys.modules, "TensorFlow was imported"
    print("tensorflow imported: no")


if __name__ == "__main__":
    main()
