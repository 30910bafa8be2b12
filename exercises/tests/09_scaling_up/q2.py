from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 3

@test_case(points=None, hidden=False)
def test_accumulation_against_the_whole_batch(keras_accumulated, exact_accumulated):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(keras_accumulated) and callable(exact_accumulated), 'define both functions'
    seed, rng = random_inputs()
    k, seqs, preds, d, vocab = (int(rng.integers(2, 6)), int(rng.integers(2, 6)), 4, 5, 7)
    W, U = (rng.normal(0, 1, (d, vocab)), rng.normal(0, 1, (d, 2)))

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def grads(X, y, w, Z, c):
        """(gradient of the summed MLM loss, of the mean NSP loss), flattened over (W, U)."""
        p = softmax(X @ W)
        p[np.arange(len(y)), y] -= 1
        g_w = X.T @ (p * w[:, None])
        q = softmax(Z @ U)
        q[np.arange(len(c)), c] -= 1
        g_u = Z.T @ q / len(c)
        return (np.concatenate([g_w.ravel(), np.zeros(U.size)]), np.concatenate([np.zeros(W.size), g_u.ravel()]))
    micro = []
    for _ in range(k):
        n = seqs * preds
        w = (rng.random(n) < rng.uniform(0.4, 1.0)).astype(float)
        w[0] = 1.0
        micro.append((rng.normal(0, 1, (n, d)), rng.integers(0, vocab, n), w, rng.normal(0, 1, (seqs, d)), rng.integers(0, 2, seqs)))
    parts = [grads(*m) for m in micro]
    sum_grads = np.stack([s for s, _ in parts])
    nsp_grads = np.stack([t for _, t in parts])
    counts = np.array([m[2].sum() for m in micro])
    X, y, w, Z, c = (np.concatenate([m[j] for m in micro]) for j in range(5))
    s_all, t_all = grads(X, y, w, Z, c)
    whole = s_all / w.sum() + t_all
    keras_way = np.mean([s / m[2].sum() + t for (s, t), m in zip(parts, micro)], axis=0)
    got = exact_accumulated(sum_grads, counts, nsp_grads)
    assert got is not None, 'exact_accumulated: return the gradient'
    got = np.asarray(got)
    assert got.shape == whole.shape, f'shape {got.shape}, expected {whole.shape}'
    assert np.allclose(got, whole, atol=1e-10), f"exact_accumulated differs from the whole batch's gradient by up to {np.abs(got - whole).max():.3g}; counts {counts.astype(int).tolist()} (seed {seed})"
    got = np.asarray(keras_accumulated(sum_grads, counts, nsp_grads))
    assert got.shape == whole.shape, f'keras_accumulated: shape {got.shape}, expected {whole.shape}'
    assert np.allclose(got, keras_way, atol=1e-10), f'keras_accumulated differs from the mean of the micro-batch gradients by up to {np.abs(got - keras_way).max():.3g}; counts {counts.astype(int).tolist()} (seed {seed})'

