from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 1

@test_case(points=None, hidden=False)
def test_decoder_mask(decoder_mask):
    import keras
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(decoder_mask), 'define decoder_mask above and run its cell'
    seed, rng = random_inputs()
    batch, tgt = (int(rng.integers(1, 5)), int(rng.integers(2, 12)))
    lengths = rng.integers(1, tgt + 1, batch)
    padding = (np.arange(tgt)[None, :] < lengths[:, None]).astype('int32')
    got = decoder_mask(padding)
    assert got is not None, 'return the mask'
    got = np.asarray(got)
    assert got.shape == (batch, tgt, tgt), f'shape {got.shape}, expected {(batch, tgt, tgt)}'
    assert got.dtype == bool, f'a boolean mask, not {got.dtype}'
    want = np.array([[[j <= i and j < n for j in range(tgt)] for i in range(tgt)] for n in lengths])
    assert np.array_equal(got, want), f'lengths {lengths.tolist()}, {tgt} positions (seed {seed})'
    q, k, v = (rng.normal(size=(batch, tgt, 2, 4)).astype('float32') for _ in range(3))
    mine = keras.ops.dot_product_attention(q, k, v, mask=got[:, None])
    library = keras.ops.dot_product_attention(q, k, v, mask=padding.astype(bool)[:, None, None, :], is_causal=True)
    assert np.allclose(keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(library), atol=1e-05), f"attention with your mask differs from the decoder's (seed {seed})"

