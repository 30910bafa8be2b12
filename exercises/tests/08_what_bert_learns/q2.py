from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_mean_pool(mean_pool):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(mean_pool), 'define mean_pool above and run its cell'
    seed, rng = random_inputs()
    batch, seq, hidden = (int(rng.integers(1, 6)), int(rng.integers(2, 12)), int(rng.integers(1, 16)))
    lengths = rng.integers(1, seq + 1, batch)
    lengths[0] = rng.integers(1, seq)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype('int32')
    states = rng.normal(0, 1, (batch, seq, hidden)).astype('float32')
    states[mask == 0] = rng.normal(0, 1000, (int((mask == 0).sum()), hidden))
    want = np.stack([states[r, :lengths[r]].mean(axis=0) for r in range(batch)])
    got = mean_pool(states, mask)
    assert got is not None, 'return the sentence vectors'
    got = np.asarray(got)
    assert got.shape == (batch, hidden), f'shape {got.shape}, expected (batch, H) = {(batch, hidden)}'
    err = np.abs(got - want).max(axis=1)
    assert np.all(err < 0.0001), f'rows of {lengths.tolist()} real tokens out of {seq}: row {int(np.argmax(err))} differs from the mean of its real tokens by {err.max():.3g} (seed {seed}). Padding left out of both the sum and the count?'

@test_case(points=None, hidden=False)
def test_retrieval_accuracy(retrieval_accuracy):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(retrieval_accuracy), 'define retrieval_accuracy above and run its cell'
    seed, rng = random_inputs()
    groups, per, d = (int(rng.integers(2, 6)), int(rng.integers(2, 8)), int(rng.integers(2, 12)))
    labels = np.repeat(np.arange(groups), per)
    vectors = rng.normal(0, 1, (groups, d))[labels] + rng.uniform(0.3, 2) * rng.normal(0, 1, (len(labels), d))
    vectors *= rng.uniform(0.1, 10, (len(labels), 1))
    order = rng.permutation(len(labels))
    vectors, labels = (vectors[order], labels[order])
    if rng.random() < 0.5:
        labels = np.array([f'article {k}' for k in labels])
    hits = []
    for i in range(len(labels)):
        best = max((j for j in range(len(labels)) if j != i), key=lambda j: np.dot(vectors[i], vectors[j]) / np.linalg.norm(vectors[i]) / np.linalg.norm(vectors[j]))
        hits.append(labels[best] == labels[i])
    want = float(np.mean(hits))
    got = retrieval_accuracy(vectors, labels)
    assert got is not None, 'return the accuracy, a number'
    assert abs(float(got) - want) < 1e-09, f"{len(labels)} vectors in {groups} groups: expected accuracy {want:.4f}, got {float(got):.4f} (seed {seed}). Cosine, not dot product? Each vector's own entry left out?"

