from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_cosine_matrix(cosine_matrix):
    import numpy as np
    from course.grading.checks import random_inputs, without
    assert callable(cosine_matrix), 'define cosine_matrix above and run its cell'
    seed, rng = random_inputs()
    n, m, d = (int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(2, 30)))
    a = rng.normal(0, 1, (n, d)) * rng.uniform(0.01, 100, (n, 1))
    b = rng.normal(0, 1, (m, d)) * rng.uniform(0.01, 100, (m, 1))
    want = np.array([[np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y)) for y in b] for x in a])
    with without('sklearn.metrics.pairwise.cosine_similarity'):
        got = cosine_matrix(a.astype('float32'), b.astype('float32'))
    assert got is not None, 'return the matrix'
    got = np.asarray(got)
    assert got.shape == (n, m), f'a is ({n}, {d}), b is ({m}, {d}): shape {got.shape}, expected ({n}, {m})'
    err = np.abs(got - want).max()
    assert err < 1e-05, f'your similarities differ from the cosine by up to {err:.3g} (seed {seed}); expected {np.round(want, 3).tolist()}, got {np.round(got, 3).tolist()}'

@test_case(points=None, hidden=False)
def test_separation(separation):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(separation), 'define separation above and run its cell'
    seed, rng = random_inputs()
    layers, d = (int(rng.integers(1, 5)), int(rng.integers(2, 20)))
    n_first, n_second = (int(rng.integers(2, 6)), int(rng.integers(2, 6)))
    n = n_first + n_second
    centres = rng.normal(0, 1, (layers, 2, d))
    spread = rng.uniform(0.2, 2.0, (layers, 1, 1))
    sense = (np.arange(n) >= n_first).astype(int)
    vectors = centres[:, sense] + spread * rng.normal(0, 1, (layers, n, d))
    want = []
    for layer in vectors:
        cos = lambda x, y: np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y))
        within = [cos(layer[i], layer[j]) for i in range(n) for j in range(n) if i != j and sense[i] == sense[j]]
        across = [cos(layer[i], layer[j]) for i in range(n) for j in range(n) if sense[i] != sense[j]]
        want.append(np.mean(within) - np.mean(across))
    got = separation(vectors.astype('float32'), n_first)
    assert got is not None, 'return one number per layer'
    got = np.asarray(got, dtype=float)
    assert got.shape == (layers,), f'{layers} layers: shape {got.shape}, expected ({layers},)'
    assert np.allclose(got, want, atol=1e-05), f'{n_first} + {n_second} sentences, {layers} layers: expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()} (seed {seed}). Pairs of a sentence with itself left out?'

