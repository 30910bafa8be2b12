from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 3

@test_case(points=None, hidden=False)
def test_mask_tokens_choices(mask_tokens):
    import numpy as np
    from bert_tf.data.masking import num_to_predict
    from course.grading.checks import random_inputs, without
    assert callable(mask_tokens), 'define mask_tokens above and run its cell'
    seed, rng = random_inputs()
    vocab_size = int(rng.integers(30, 300))
    pad, cls, sep, mask = (int(i) for i in rng.permutation(5)[:4])
    batch, seq = (int(rng.integers(50, 200)), int(rng.integers(8, 60)))
    max_predictions = int(rng.integers(2, 12))
    masked_lm_prob = 0.15 if rng.random() < 0.5 else round(float(rng.uniform(0.1, 0.4)), 2)
    lengths = rng.integers(3, seq + 1, batch)
    for r, n in enumerate((10, 30, 50)):
        lengths[r] = min(n, seq)
    token_ids = np.full((batch, seq), pad)
    for r, n in enumerate(lengths):
        token_ids[r, :n] = rng.integers(5, vocab_size, n)
        token_ids[r, [0, int(rng.integers(1, n - 1)), n - 1]] = [cls, sep, sep]
    padding_mask = (np.arange(seq)[None, :] < lengths[:, None]).astype('int32')
    before = token_ids.copy()
    with without('bert_tf.data.masking.mask_batch', 'bert_tf.data.masking.choose_positions', 'bert_tf.data.masking.apply_masks', 'bert_tf.data.masking.num_to_predict'):
        got = mask_tokens(token_ids, padding_mask, cls, sep, mask, vocab_size, rng, masked_lm_prob=masked_lm_prob, max_predictions=max_predictions)
    assert isinstance(got, dict), 'return a dict of four arrays'
    assert np.array_equal(token_ids, before), 'do not change token_ids: return a new array'
    for key, shape in [('token_ids', (batch, seq)), ('masked_positions', (batch, max_predictions)), ('masked_ids', (batch, max_predictions)), ('masked_weights', (batch, max_predictions))]:
        assert key in got, f'the dict has no {key!r}'
        assert np.shape(got[key]) == shape, f'{key}: shape {np.shape(got[key])}, expected {shape}'
    out, positions = (np.asarray(got['token_ids']), np.asarray(got['masked_positions']))
    labels, weights = (np.asarray(got['masked_ids']), np.asarray(got['masked_weights']))
    candidates = padding_mask.astype(bool) & (token_ids != cls) & (token_ids != sep)
    want_n = np.minimum(num_to_predict(lengths, masked_lm_prob, max_predictions), candidates.sum(1))
    for r in range(batch):
        n = int(want_n[r])
        case = f'row {r} ({lengths[r]} real tokens, {candidates[r].sum()} candidates; masked_lm_prob {masked_lm_prob:g}, max_predictions {max_predictions})'
        assert weights[r].tolist() == [1.0] * n + [0.0] * (max_predictions - n), f'{case}: expected {n} predictions, i.e. masked_weights {[1.0] * n + [0.0] * (max_predictions - n)}, got {weights[r].tolist()} (seed {seed})'
        pos = positions[r, :n]
        assert np.all(np.diff(pos) > 0), f'{case}: positions {pos.tolist()} not ascending and distinct'
        assert np.all(positions[r, n:] == 0) and np.all(labels[r, n:] == 0), f'{case}: unused slots of masked_positions and masked_ids must be 0 (seed {seed})'
        assert np.all((pos >= 0) & (pos < seq)) and candidates[r, pos].all(), f'{case}: chose positions {pos.tolist()}; only real tokens other than [CLS] (id {cls}) and [SEP] (id {sep}) may be chosen (seed {seed})'
        assert np.array_equal(labels[r, :n], token_ids[r, pos]), f'{case}: masked_ids must be the original ids {token_ids[r, pos].tolist()} at the chosen positions, got {labels[r, :n].tolist()} (seed {seed})'
        others = np.setdiff1d(np.arange(seq), pos)
        assert np.array_equal(out[r, others], token_ids[r, others]), f'{case}: only the chosen positions may change (seed {seed})'

@test_case(points=None, hidden=False)
def test_mask_tokens_80_10_10(mask_tokens):
    import numpy as np
    from course.grading.checks import random_inputs, without
    seed, rng = random_inputs()
    vocab_size, cls, sep, mask = (int(rng.integers(1000, 5000)), 2, 3, 4)
    n_rows, length = (2000, int(rng.integers(30, 50)))
    row = np.concatenate([[cls], rng.integers(5, 60, length - 2), [sep]])
    token_ids = np.tile(row, (n_rows, 1))
    with without('bert_tf.data.masking.mask_batch', 'bert_tf.data.masking.choose_positions', 'bert_tf.data.masking.apply_masks'):
        got = mask_tokens(token_ids, np.ones_like(token_ids), cls, sep, mask, vocab_size, rng)
    assert isinstance(got, dict), 'return a dict of four arrays'
    out, positions = (np.asarray(got['token_ids']), np.asarray(got['masked_positions']))
    chosen = np.asarray(got['masked_weights']) > 0
    n = int(chosen[0].sum())
    assert n > 0, "no predictions: check question 1's first test"
    rows = np.nonzero(chosen)[0]
    seen, gold = (out[rows, positions[chosen]], token_ids[rows, positions[chosen]])
    shares = {'[MASK]': np.mean(seen == mask), 'unchanged': np.mean(seen == gold), 'random': np.mean((seen != mask) & (seen != gold))}
    want = {'[MASK]': 0.8, 'unchanged': 0.1 + 0.1 / vocab_size, 'random': 0.1 - 0.1 / vocab_size}
    for name in shares:
        assert abs(shares[name] - want[name]) < 0.025, f'over {chosen.sum():,} chosen tokens: {name} {shares[name]:.3f}, expected about {want[name]:.3f}; all shares: { {k: round(float(v), 3) for k, v in shares.items()}} (seed {seed})'
    replaced = seen[(seen != mask) & (seen != gold)]
    assert abs(replaced.mean() / vocab_size - 0.5) < 0.05, f'the random replacements average id {replaced.mean():.0f}; drawn uniformly from 0 … {vocab_size - 1} they would average about {(vocab_size - 1) / 2:.0f} (seed {seed})'
    frequency = np.bincount(positions[chosen], minlength=length) / n_rows
    expected = n / (length - 2)
    worst = int(np.argmax(np.abs(frequency[1:-1] - expected))) + 1
    assert abs(frequency[worst] - expected) < 0.05, f'the same {length}-token row masked {n_rows} times: position {worst} was chosen in {frequency[worst]:.1%} of the rows, expected about {expected:.1%} — choose the {n} positions uniformly among the {length - 2} candidates (seed {seed})'

