from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=None, hidden=False)
def test_elmo_layers(elmo_layers):
    import keras
    import numpy as np
    from bert_tf.models.elmo import ELMo, reverse_within_length
    from course.grading.checks import random_inputs
    assert callable(elmo_layers), 'define elmo_layers above and run its cell'
    seed, rng = random_inputs()
    keras.utils.set_random_seed(int(seed % 2 ** 31))
    batch, seq, hidden = (int(rng.integers(2, 5)), int(rng.integers(3, 9)), int(rng.integers(2, 6)))
    model = ELMo(30, hidden_size=hidden, num_layers=2, embedding_dim=4, dropout=0.0)
    ids = rng.integers(1, 30, (batch, seq))
    lengths = rng.integers(1, seq + 1, size=batch)
    for i, n in enumerate(lengths):
        ids[i, n:] = 0
    want = model({'token_ids': ids})['layers']
    mask = ids != 0
    x = model.token_projection(model.token_encoder(ids)) * mask[..., None]
    f, b = (x, reverse_within_length(x, lengths))
    forward, backward = ([], [])
    for k in range(2):
        f_out = model.forward_lstms[k](f, mask=mask)
        b_out = model.backward_lstms[k](b, mask=mask)
        if k > 0:
            f_out, b_out = (f_out + f, b_out + b)
        f, b = (f_out, b_out)
        forward.append(keras.ops.convert_to_numpy(f))
        backward.append(keras.ops.convert_to_numpy(b))
    got = elmo_layers(keras.ops.convert_to_numpy(x), forward, backward, lengths)
    assert got is not None and len(got) == 3, f'a 2-layer biLM has 3 layers (0, 1, 2); got {(None if got is None else len(got))}'
    for k, (g, w) in enumerate(zip(got, want)):
        g, w = (np.asarray(g), keras.ops.convert_to_numpy(w))
        assert g.shape == w.shape, f'layer {k}: shape {g.shape}, expected {w.shape}'
        real = mask
        assert np.allclose(g[real], w[real], atol=1e-05), f"layer {k} differs from ELMo's own (batch {batch}, lengths {lengths.tolist()}, hidden {hidden}; seed {seed}): are the backward states back in sentence order?"

