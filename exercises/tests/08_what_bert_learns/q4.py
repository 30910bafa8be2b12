from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_probe_layers(probe_layers):
    import numpy as np
    from sklearn.linear_model import RidgeClassifier
    from course.grading.checks import random_inputs, without
    assert callable(probe_layers), 'define probe_layers above and run its cell'
    seed, rng = random_inputs()
    layers, n, d = (int(rng.integers(2, 5)), int(rng.integers(80, 200)), int(rng.integers(3, 12)))
    classes = int(rng.integers(2, 5))
    labels = rng.integers(0, classes, n)
    signal = rng.uniform(0, 2, layers)
    means = rng.normal(0, 1, (classes, d))
    features = signal[:, None, None] * means[labels][None] + rng.normal(0, 1, (layers, n, d)) + rng.normal(0, 3, d)
    if rng.random() < 0.5:
        labels = np.array(['NOUN', 'VERB', 'ADJ', 'ADV'])[labels]
    train = rng.random(n) < 0.7
    alpha = float(rng.choice([0.1, 1.0, 10.0, 100.0]))
    want = np.array([RidgeClassifier(alpha=alpha).fit(f[train], labels[train]).score(f[~train], labels[~train]) for f in features])
    with without('sklearn.linear_model.RidgeClassifier', 'sklearn.linear_model.Ridge', 'sklearn.linear_model.LogisticRegression'):
        got = probe_layers(features.astype('float32'), labels, train, alpha=alpha)
    assert got is not None, 'return one accuracy per layer'
    got = np.asarray(got, dtype=float)
    assert got.shape == (layers,), f'{layers} layers: shape {got.shape}, expected ({layers},)'
    held_out = int((~train).sum())
    assert np.all(np.abs(got - want) <= 1.01 / held_out), f'{layers} layers of {d} features, {classes} classes, {train.sum()} training and {held_out} held-out rows, alpha {alpha}: RidgeClassifier scores {np.round(want, 3).tolist()}, your probe {np.round(got, 3).tolist()} (seed {seed}). Centred? alpha on the diagonal? Fit on the training rows only, scored on the others?'

