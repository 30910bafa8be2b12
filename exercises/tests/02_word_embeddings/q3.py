from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=None, hidden=False)
def test_with_negatives(with_negatives):
    import numpy as np
    from course.grading.checks import random_inputs, without
    assert callable(with_negatives), 'define with_negatives above and run its cell'
    seed, rng = random_inputs()
    vocab = int(rng.integers(10, 30))
    counts = np.maximum(1, rng.uniform(1000.0, 10000.0) / np.arange(1, vocab + 1) ** 1.5).astype(int)
    contexts = rng.integers(0, vocab, size=20000)
    negatives = int(rng.integers(2, 8))
    with without('bert_tf.models.word2vec.draw_negatives', 'bert_tf.models.word2vec.noise_distribution'):
        result = with_negatives(contexts, counts, negatives, np.random.default_rng(seed))
    assert isinstance(result, tuple) and len(result) == 2, f'return two arrays, (candidates, labels); got {type(result).__name__}'
    candidates, labels = result
    candidates, labels = (np.asarray(candidates), np.asarray(labels))
    shape = (len(contexts), 1 + negatives)
    assert candidates.shape == shape and labels.shape == shape, f'{negatives} negatives for {len(contexts)} contexts: shapes {candidates.shape} and {labels.shape}, expected {shape} for both'
    assert np.array_equal(candidates[:, 0], contexts), 'column 0 must hold the true context words'
    assert np.all(labels[:, 0] == 1) and np.all(labels[:, 1:] == 0), 'labels: 1 in column 0, 0 elsewhere'
    drawn = np.bincount(candidates[:, 1:].ravel(), minlength=vocab)[:vocab] / candidates[:, 1:].size
    noise = counts ** 0.75 / (counts ** 0.75).sum()
    unigram = counts / counts.sum()
    off = 0.5 * np.abs(drawn - noise).sum()
    assert off < 0.02, f'noise words should follow count**0.75: your draws are {off:.3f} away (total variation); drawn {np.round(drawn[:4], 3)} for the 4 most frequent words, expected {np.round(noise[:4], 3)} (raw unigram would be {np.round(unigram[:4], 3)}; seed {seed})'

