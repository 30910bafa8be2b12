from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_causal_attention(causal_attention):
    import keras
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(causal_attention), 'define causal_attention above and run its cell'
    seed, rng = random_inputs()
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 10)), int(rng.integers(1, 4)), int(rng.integers(2, 9)))
    q, k, v = (rng.normal(0, 2, shape).astype('float32') for _ in range(3))
    want = keras.ops.convert_to_numpy(keras.ops.dot_product_attention(q, k, v, is_causal=True))
    got = causal_attention(q, k, v)
    assert got is not None, 'return the attention output'
    got = np.asarray(got)
    assert got.shape == want.shape, f'output shape {got.shape}, expected {want.shape} (same as q)'
    err = np.abs(got - want).max(axis=(0, 2, 3))
    assert np.allclose(got, want, atol=0.0001), f'(batch, seq, heads, head_dim) = {shape}: your output differs from keras.ops.dot_product_attention(..., is_causal=True) by up to {err.max():.3g}, first at position {int(np.argmax(err > 0.0001))} (seed {seed}); scaled by sqrt(head_dim)? masked?'

