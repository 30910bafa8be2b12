from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_keep_probabilities(keep_probabilities):
    import numpy as np
    from bert_tf.models import word2vec as w2v
    from course.grading.checks import random_inputs, without
    assert callable(keep_probabilities), 'define keep_probabilities above and run its cell'
    seed, rng = random_inputs()
    vocab = int(rng.integers(20, 200))
    counts = np.maximum(1, rng.uniform(1000.0, 100000.0) / np.arange(1, vocab + 1) ** rng.uniform(0.8, 1.5)).astype(int)
    sample = float(10 ** rng.uniform(-4, -2))
    want = w2v.keep_probabilities(counts, sample)
    with without('bert_tf.models.word2vec.keep_probabilities'):
        got = keep_probabilities(counts, sample)
    got = np.asarray(got, dtype=float)
    assert got.shape == want.shape, f'one probability per word: shape {got.shape}, expected {want.shape}'
    worst = int(np.argmax(np.abs(got - want)))
    assert np.allclose(got, want, rtol=1e-06, atol=1e-09), f'sample={sample:.2e}: the word with count {counts[worst]} (of {counts.sum()} in all) should be kept with probability {want[worst]:.6f}, yours {got[worst]:.6f} (seed {seed})'

