from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 1

@test_case(points=None, hidden=False)
def test_squad_scores(squad_scores):
    from bert_tf.train.metrics import squad_em_f1
    from course.grading.checks import random_inputs, without
    assert callable(squad_scores), 'define squad_scores above and run its cell'
    seed, rng = random_inputs()
    words = ['Eiffel', 'tower', 'Paris', 'the', 'The', 'a', 'an', 'An', 'theory', 'another', 'U.S.', 'state-of-the-art', '1889', 'Gustave', '(engineer)', 'iron', 'iron', 'anthem']
    marks = ['', '', '', '.', ',', '!', "'s", '?']

    def answer():
        return ' '.join((str(rng.choice(words)) + str(rng.choice(marks)) for _ in range(int(rng.integers(1, 6)))))
    truths, preds = ([], [])
    for _ in range(60):
        t = answer()
        u = rng.random()
        if u < 0.3:
            p = answer()
        elif u < 0.6:
            p = '  '.join((w.upper() if rng.random() < 0.5 else w.strip('.,!?') for w in t.split()))
            p = ('The ' if rng.random() < 0.5 else '') + p + str(rng.choice(marks))
        else:
            part = t.split()
            k = int(rng.integers(0, len(part)))
            p = ' '.join(part[k:] + (answer().split()[:1] if rng.random() < 0.5 else []))
        truths.append(t)
        preds.append(p)
    want = squad_em_f1(truths, preds)
    with without('bert_tf.train.metrics.squad_em_f1', 'bert_tf.train.metrics.normalize_answer'):
        got = squad_scores(truths, preds)
    assert isinstance(got, dict), 'return a dict with exact_match and f1'
    for key in ('exact_match', 'f1'):
        assert key in got, f'the dict has no {key!r}'
    if abs(float(got['exact_match']) - want['exact_match']) > 1e-09 or abs(float(got['f1']) - want['f1']) > 1e-09:
        worst = max(range(len(truths)), key=lambda k: abs(float(squad_scores([truths[k]], [preds[k]])['f1']) - squad_em_f1([truths[k]], [preds[k]])['f1']) + abs(float(squad_scores([truths[k]], [preds[k]])['exact_match']) - squad_em_f1([truths[k]], [preds[k]])['exact_match']))
        one = squad_em_f1([truths[worst]], [preds[worst]])
        raise AssertionError(f'over {len(truths)} pairs: expected {want}, got {got} (seed {seed}); e.g. truth {truths[worst]!r}, prediction {preds[worst]!r}: expected {one}, you gave {squad_scores([truths[worst]], [preds[worst]])}')

