from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=None, hidden=False)
def test_entity_scores(entity_scores):
    from bert_tf.train.metrics import entity_f1
    from course.grading.checks import random_inputs, without
    assert callable(entity_scores), 'define entity_scores above and run its cell'
    seed, rng = random_inputs()
    types = ['PER', 'LOC', 'ORG']
    for _ in range(5):
        true_seqs, pred_seqs = ([], [])
        for _ in range(int(rng.integers(1, 12))):
            tags = []
            while len(tags) < int(rng.integers(3, 20)):
                t = str(rng.choice(types))
                tags += ['O'] * int(rng.integers(0, 3)) + [f'B-{t}'] + [f'I-{t}'] * int(rng.integers(0, 3))
            pred = list(tags)
            for k in range(len(pred)):
                u = rng.random()
                if u < 0.08:
                    pred[k] = 'O'
                elif u < 0.14:
                    pred[k] = pred[k][:2] + str(rng.choice(types)) if pred[k] != 'O' else 'I-LOC'
                elif u < 0.2:
                    pred[k] = str(rng.choice(['B-', 'I-'])) + str(rng.choice(types))
            true_seqs.append(tags)
            pred_seqs.append(pred)
        want = entity_f1(true_seqs, pred_seqs)
        with without('bert_tf.train.metrics.entity_f1', 'bert_tf.train.metrics.get_entities'):
            got = entity_scores(true_seqs, pred_seqs)
        assert isinstance(got, dict), 'return a dict with precision, recall and f1'
        for key, ref in [('precision', 'entity_precision'), ('recall', 'entity_recall'), ('f1', 'entity_f1')]:
            assert key in got, f'the dict has no {key!r}'
            assert abs(float(got[key]) - want[ref]) < 1e-09, f"{len(true_seqs)} sentences, {want['true_entities']} gold and {want['predicted_entities']} predicted entities: {key} should be {want[ref]:.4f}, got {float(got[key]):.4f} (seed {seed}); first sentence gold {true_seqs[0]}, predicted {pred_seqs[0]}"

