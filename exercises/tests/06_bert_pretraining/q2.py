from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_whole_word_positions_rules(whole_word_positions):
    import numpy as np
    from course.grading.checks import random_inputs, without
    assert callable(whole_word_positions), 'define whole_word_positions above and run its cell'
    seed, rng = random_inputs()
    letters = list('abcdefghijklmnopqrstuvwxyz')

    def word():
        k = int(rng.choice([1, 1, 1, 2, 3, 4]))
        return [''.join(rng.choice(letters, 3))] + ['##' + ''.join(rng.choice(letters, 2)) for _ in range(k - 1)]
    for _ in range(30):
        a = [p for _ in range(int(rng.integers(1, 6))) for p in word()]
        b = [p for _ in range(int(rng.integers(1, 6))) for p in word()]
        if rng.random() < 0.3:
            b[0] = '##' + b[0].lstrip('#')
        tokens = ['[CLS]', *a, '[SEP]', *b, '[SEP]'] + ['[PAD]'] * int(rng.integers(0, 4))
        words = []
        for i, t in enumerate(tokens):
            if t not in ('[CLS]', '[SEP]', '[PAD]'):
                if t.startswith('##') and words and (words[-1][-1] == i - 1):
                    words[-1].append(i)
                else:
                    words.append([i])
        n = int(rng.integers(1, 12))
        with without('bert_tf.data.masking.mask_batch', 'bert_tf.data.masking.choose_positions'):
            got = whole_word_positions(list(tokens), n, rng)
        assert got is not None, 'return the list of positions'
        got = [int(p) for p in got]
        case = f'tokens {tokens}, n={n}: you chose positions {got}'
        assert got == sorted(set(got)), f'{case}; return them sorted, each once (seed {seed})'
        assert len(got) <= n, f'{case}: more than n={n} (seed {seed})'
        for w in words:
            taken = [p in got for p in w]
            assert all(taken) or not any(taken), f"{case}: the word at positions {w} ({' '.join((tokens[p] for p in w))}) is only partly chosen — all its pieces or none (seed {seed})"
        outside = set(got) - {p for w in words for p in w}
        assert not outside, f'{case}: {sorted(outside)} are [CLS], [SEP] or [PAD] (seed {seed})'
        left = [w for w in words if w[0] not in got and len(w) <= n - len(got)]
        assert not left, f'{case}: the word at {left[0]} still fits in the remaining {n - len(got)}; skip only the words that do not fit (seed {seed})'

@test_case(points=None, hidden=False)
def test_whole_word_positions_distribution(whole_word_positions):
    import numpy as np
    from bert_tf.data.masking import mask_batch
    from course.grading.checks import random_inputs, without
    seed, rng = random_inputs()
    tokens = ['[CLS]']
    for _ in range(int(rng.integers(6, 10))):
        k = int(rng.choice([1, 1, 2, 3]))
        tokens += [f'w{len(tokens)}'] + [f'##p{len(tokens) + j}' for j in range(1, k)]
    tokens.append('[SEP]')
    n, reps = (int(rng.integers(3, 7)), 4000)
    ids = np.arange(len(tokens))
    special = np.array([t in ('[CLS]', '[SEP]') for t in tokens])
    word_starts = np.array([not t.startswith('##') for t in tokens])
    library = mask_batch(np.tile(ids, (reps, 1)), np.full(reps, len(ids)), np.tile(special, (reps, 1)), masked_lm_prob=0.99, max_predictions=n, vocab_size=len(ids), mask_id=0, rng=np.random.default_rng(seed), word_starts=np.tile(word_starts, (reps, 1)))
    want = np.bincount(library.positions[library.weights > 0], minlength=len(ids)) / reps
    seen = np.zeros(len(ids))
    with without('bert_tf.data.masking.mask_batch', 'bert_tf.data.masking.choose_positions'):
        for _ in range(reps):
            got = whole_word_positions(list(tokens), n, rng)
            assert got is not None, 'return the list of positions'
            seen[[int(p) for p in got]] += 1
    seen /= reps
    worst = int(np.argmax(np.abs(seen - want)))
    assert abs(seen[worst] - want[worst]) < 0.06, f"{' '.join(tokens)} with n={n}, {reps} times: position {worst} ({tokens[worst]}) was chosen {seen[worst]:.1%} of the time, bert_tf's whole-word masking chooses it {want[worst]:.1%}. Words in a uniformly random order, each taken if it fits? (seed {seed})"

