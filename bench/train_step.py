"""Training-step speed of bert_tf's BertPretrainer vs keras-hub's BertMaskedLM, same process.

Both train the same BERT-mini (L4/H256/A4, vocab 30522) on MLM only: seq 128, batch 32,
20 masked positions, AdamW, Keras `fit` with XLA, each with its library's own MLM loss (the
same cross-entropy: keras-hub's task uses Keras' `SparseCategoricalCrossentropy`, bert_tf's
pretraining its `SparseSoftmaxCrossEntropy`, equal to 1e-6 in value and gradient, see
tests/test_train_losses.py). Also measures this machine's matmul peak
(numpy sgemm 2048^3) in the same run. The last line is `bert_tf/keras_hub speed ratio: X.XX`.

Timing is per training step, in steady state: a callback stamps the end of every batch, and
a step's time is the gap between two consecutive stamps, so neither compilation (the first
`fit`) nor the start and end of a `fit` call are counted. The end matters: with TF 2.21, when
a `fit` call returns, deleting its tf.data iterator can wait for the autotuner's thread to
wake (its sleep doubles from 10 ms: the call returns at ~5.1 s or ~10.2 s instead of ~5.0 s),
which made whole-call timings of short fits jump by up to 2x at random. Rounds alternate
between the two models so both see the same machine load; each model's figure is the median
step over all rounds. Sequences per CPU-second (all threads) are printed too.

    python bench/train_step.py                 # TF backend (default)
    KERAS_BACKEND=jax python bench/train_step.py
    python bench/train_step.py --preset tiny --batch 4 --steps 3 --rounds 1   # smoke run
"""

from __future__ import annotations

import argparse
import os
import time

import _benchpath  # noqa: F401  (before other packages: repo root, not bench/, on sys.path)

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def matmul_peak_gflops(n=2048, repeats=5):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flops_per_sequence(c, seq, predictions):
    """DESIGN.md: 6*N_encoder + 12*L*H*S per token, + 6*(H^2 + H*V) per predicted position."""
    h, inter = c.hidden_size, c.intermediate_size
    n_encoder = c.num_layers * (4 * h * h + 2 * h * inter)
    per_token = 6 * n_encoder + 12 * c.num_layers * h * seq
    return seq * per_token + predictions * 6 * (h * h + h * c.vocab_size)


def make_batches(c, steps, batch, seq, predictions, seed=0):
    rng = np.random.default_rng(seed)
    n = steps * batch
    token_ids = rng.integers(1000, c.vocab_size, (n, seq)).astype("int32")
    segment_ids = (np.arange(seq)[None, :] >= seq // 2).repeat(n, 0).astype("int32")
    padding_mask = np.ones((n, seq), "int32")
    positions = np.sort(np.stack([rng.choice(np.arange(1, seq), predictions, replace=False)
                                  for _ in range(n)]), axis=1).astype("int32")
    labels = np.take_along_axis(token_ids, positions, axis=1)
    token_ids[np.arange(n)[:, None], positions] = 103  # [MASK]
    features = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    return features, positions, labels


def step_timer():
    """A Keras callback recording wall and CPU seconds between consecutive batch ends."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu, self._last = [], [], None

        def on_train_batch_end(self, batch, logs=None):
            now = (time.perf_counter(), time.process_time())
            if self._last is not None:
                self.wall.append(now[0] - self._last[0])
                self.cpu.append(now[1] - self._last[1])
            self._last = now

    return StepTimer()


def build_bert_tf(c, lr):
    import keras

    from bert_tf.models.pretrainer import BertPretrainer
    from bert_tf.train.losses import SparseSoftmaxCrossEntropy

    model = BertPretrainer(c)
    model.compile(
        optimizer=keras.optimizers.AdamW(lr, weight_decay=0.01),
        loss={"mlm_logits": SparseSoftmaxCrossEntropy(), "nsp_logits": None},
        jit_compile=True)
    return model


def build_keras_hub(c, lr):
    import keras
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=c.vocab_size, num_layers=c.num_layers, num_heads=c.num_heads,
        hidden_dim=c.hidden_size, intermediate_dim=c.intermediate_size,
        dropout=c.hidden_dropout, max_sequence_length=c.max_position_embeddings)
    model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[], jit_compile=True)
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=12, help="steps per fit call (timed: all but 1)")
    p.add_argument("--rounds", type=int, default=3, help="alternating fit calls per model")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--predictions", type=int, default=20)
    p.add_argument("--preset", default="mini", help="BertConfig preset (the target is on mini)")
    args = p.parse_args(argv)

    import keras

    from bert_tf.config import BertConfig

    c = BertConfig.preset(args.preset)  # mini: L4/H256/A4, vocab 30522, dropout 0.1, tanh GELU
    keras.utils.set_random_seed(0)
    features, positions, labels = make_batches(c, args.steps, args.batch, args.seq,
                                               args.predictions)
    ours_x = {**features, "masked_positions": positions}
    ours_y = {"mlm_logits": labels, "nsp_logits": np.zeros(len(labels), "int32")}
    hub_x = {**features, "mask_positions": positions}

    models = {"bert_tf": build_bert_tf(c, 1e-4), "keras_hub": build_keras_hub(c, 1e-4)}
    data = {"bert_tf": (ours_x, ours_y), "keras_hub": (hub_x, labels)}

    def run(name):
        x, y = data[name]
        timer = step_timer()
        start = time.perf_counter()
        models[name].fit(x, y, batch_size=args.batch, epochs=1, verbose=0, shuffle=False,
                         callbacks=[timer])
        return time.perf_counter() - start, timer

    peak = matmul_peak_gflops()  # before and after the runs; the better one is the peak
    for name in models:  # compile + first steps
        print(f"{name}: first fit (compiling) {run(name)[0]:.1f} s", flush=True)
    steps = {name: [] for name in models}
    cpu_steps = {name: [] for name in models}
    for _ in range(args.rounds):  # alternate so both see the same machine load
        for name in models:
            _, timer = run(name)
            steps[name] += timer.wall
            cpu_steps[name] += timer.cpu

    peak = max(peak, matmul_peak_gflops())
    flops = flops_per_sequence(c, args.seq, args.predictions)
    step_gflop = args.batch * flops / 1e9
    print(f"backend: {keras.backend.backend()}, BERT-{args.preset} L{c.num_layers}/H{c.hidden_size}, "
          f"seq {args.seq}, batch {args.batch}, {args.predictions} masked, AdamW, XLA")
    print(f"matmul peak (numpy sgemm 2048^3): {peak:.1f} GFLOP/s; a step doing all its "
          f"{step_gflop:.1f} GFLOP at that peak would take {1e3 * step_gflop / peak:.0f} ms "
          "(the floor for either model)")
    speed = {}
    for name in models:
        step = float(np.median(steps[name]))
        speed[name] = args.batch / step
        gflops = speed[name] * flops / 1e9
        print(f"{name}: {1e3 * step:.0f} ms/step (median of {len(steps[name])}; "
              f"quartiles {1e3 * np.percentile(steps[name], 25):.0f}-"
              f"{1e3 * np.percentile(steps[name], 75):.0f}), {speed[name]:.1f} sequences/s, "
              f"{gflops:.1f} GFLOP/s ({100 * gflops / peak:.0f}% of matmul peak); "
              f"{args.batch / float(np.median(cpu_steps[name])):.1f} sequences per CPU-second")
    print(f"bert_tf/keras_hub speed ratio: {speed['bert_tf'] / speed['keras_hub']:.2f}")


if __name__ == "__main__":
    main()
