from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_lm_targets(lm_targets):
    import keras
    import numpy as np
    from bert_tf.models import elmo
    from course.grading.checks import random_inputs, without
    assert callable(lm_targets), 'define lm_targets above and run its cell'
    seed, rng = random_inputs()
    batch, seq = (int(rng.integers(2, 6)), int(rng.integers(2, 10)))
    ids = rng.integers(1, 50, (batch, seq))
    for i, n in enumerate(rng.integers(1, seq + 1, size=batch)):
        ids[i, n:] = 0
    want = [keras.ops.convert_to_numpy(a) for a in elmo.lm_targets(ids)]
    with without('bert_tf.models.elmo.lm_targets'):
        got = lm_targets(ids)
    assert got is not None and len(got) == 4, 'return four arrays: forward, backward and their weights'
    for name, g, w in zip(['forward', 'backward', 'forward_weights', 'backward_weights'], got, want):
        g = np.asarray(g)
        assert g.shape == w.shape, f'{name}: shape {g.shape}, expected {w.shape}'
        assert np.allclose(g, w), f'{name} for ids {ids.tolist()}: expected {w.tolist()}, got {g.tolist()} (seed {seed})'

