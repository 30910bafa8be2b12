from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 3

@test_case(points=None, hidden=False)
def test_multi_head_attention(multi_head_attention):
    import keras
    import numpy as np
    from bert_tf.layers import SelfAttention
    from course.grading.checks import random_inputs, without
    assert callable(multi_head_attention), 'define multi_head_attention above and run its cell'
    seed, rng = random_inputs()
    heads, d = (int(rng.integers(2, 5)), int(rng.integers(1, 9)))
    hidden, batch, seq = (heads * d, int(rng.integers(1, 4)), int(rng.integers(3, 10)))
    layer = SelfAttention(hidden, heads, attention_dropout=0.0)
    layer.build((None, None, hidden))
    params = {}
    for name, dense in [('query', layer.query), ('key', layer.key), ('value', layer.value), ('output', layer.output_dense)]:
        params[name] = (rng.normal(0, 1.5 / np.sqrt(hidden), (hidden, hidden)).astype('float32'), rng.normal(0, 0.3, hidden).astype('float32'))
        dense.kernel.assign(params[name][0])
        dense.bias.assign(params[name][1])
    x = rng.normal(0, 1, (batch, seq, hidden)).astype('float32')
    lengths = rng.integers(2, seq + 1, batch)
    lengths[0] = rng.integers(2, seq)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype('int32')
    want = keras.ops.convert_to_numpy(layer(x, padding_mask=mask))
    with without('bert_tf.layers.self_attention.SelfAttention.call', 'keras.ops.dot_product_attention'):
        got = multi_head_attention(x, mask, params, heads)
    assert got is not None, 'return the attention output'
    got = np.asarray(got)
    assert got.shape == want.shape, f'output shape {got.shape}, expected {want.shape} (same as x)'
    real = mask.astype(bool)
    err = np.abs(got[real] - want[real]).max()
    assert err < 0.0001, f'heads={heads}, d={d}, real lengths {lengths.tolist()} of {seq}: your output differs from SelfAttention by up to {err:.3g} at real tokens (seed {seed}). Scaled by sqrt(d), not sqrt(H)? Heads split by consecutive features? Padded keys masked?'

