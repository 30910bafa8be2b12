from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_flops_and_mfu(train_flops_per_sequence, mfu):
    import math
    from bert_tf.config import BertConfig
    from course.grading.checks import random_inputs
    assert callable(train_flops_per_sequence) and callable(mfu), 'define both functions'
    seed, rng = random_inputs()
    for _ in range(10):
        heads = int(rng.integers(1, 17))
        c = BertConfig(vocab_size=int(rng.integers(100, 60000)), hidden_size=64 * heads, num_layers=int(rng.integers(1, 25)), num_heads=heads, intermediate_size=int(rng.integers(1, 5)) * 64 * heads)
        seq, preds = (int(rng.integers(16, 1025)), int(rng.integers(1, 80)))
        L, H, I, V = (c.num_layers, c.hidden_size, c.intermediate_size, c.vocab_size)
        want = seq * (6 * L * (4 * H * H + 2 * H * I) + 12 * L * H * seq) + preds * 6 * (H * H + H * V)
        got = train_flops_per_sequence(c, seq, preds)
        assert got is not None, 'return the FLOPs'
        assert math.isclose(float(got), want, rel_tol=1e-09), f'L={L}, H={H}, I={I}, V={V}, S={seq}, P={preds}: expected {want:.6g} FLOPs, got {float(got):.6g} (seed {seed})'
        speed, peak = (float(rng.uniform(1, 5000)), float(rng.uniform(10, 1000)))
        got = mfu(c, seq, preds, speed, peak)
        assert math.isclose(float(got), speed * want / (peak * 1000000000000.0), rel_tol=1e-09), f'{speed:.1f} sequences/s on a {peak:.0f} TFLOP/s peak: expected MFU {speed * want / (peak * 1000000000000.0):.4g}, got {got} (seed {seed})'

