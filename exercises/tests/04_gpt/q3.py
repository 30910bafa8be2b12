from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 3

@test_case(points=None, hidden=False)
def test_sample_next_greedy(sample_next):
    import numpy as np
    from course.grading.checks import random_inputs, without
    assert callable(sample_next), 'define sample_next above and run its cell'
    seed, rng = random_inputs()
    logits = rng.normal(0, 3, (int(rng.integers(1, 20)), int(rng.integers(2, 50))))
    with without('bert_tf.models.gpt.sample_next'):
        got = sample_next(logits, temperature=0, rng=rng)
    assert got is not None, 'return the token ids'
    got = np.asarray(got)
    assert got.shape == (len(logits),), f'one id per row: shape {got.shape}, expected ({len(logits)},)'
    assert np.array_equal(got, logits.argmax(-1)), f'temperature 0 is greedy: the argmax of each row (seed {seed})'

@test_case(points=None, hidden=False)
def test_sample_next_distribution(sample_next):
    import numpy as np
    from course.grading.checks import random_inputs, without
    seed, rng = random_inputs()
    vocab = int(rng.integers(4, 10))
    row = rng.normal(0, 1.5, vocab)
    temperature = float(rng.uniform(0.5, 2.0))
    top_k = int(rng.integers(2, vocab)) if rng.random() < 0.7 else None
    with without('bert_tf.models.gpt.sample_next'):
        draws = np.asarray(sample_next(np.tile(row, (20000, 1)), temperature, top_k, rng))
    scaled = row / temperature
    if top_k is not None:
        scaled = np.where(scaled >= np.sort(scaled)[-top_k], scaled, -np.inf)
    want = np.exp(scaled - scaled.max())
    want /= want.sum()
    seen = np.bincount(draws, minlength=vocab)[:vocab] / len(draws)
    outside = set(np.flatnonzero(want == 0)) & set(draws.tolist())
    assert not outside, f'top_k={top_k}: drew tokens {sorted(outside)[:5]} outside the top {top_k}'
    assert 0.5 * np.abs(seen - want).sum() < 0.03, f'temperature={temperature:.2f}, top_k={top_k}: drew {np.round(seen, 3).tolist()}, expected about {np.round(want, 3).tolist()} (seed {seed})'

