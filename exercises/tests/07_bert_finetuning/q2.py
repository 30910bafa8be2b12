from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_bio_entities(bio_entities):
    from bert_tf.train.metrics import get_entities
    from course.grading.checks import random_inputs, without
    assert callable(bio_entities), 'define bio_entities above and run its cell'
    seed, rng = random_inputs()
    types = list(rng.choice(['PER', 'LOC', 'ORG', 'MISC', 'GEO-LOC'], int(rng.integers(2, 4)), replace=False))
    tagset = ['O'] + [f'{p}-{t}' for t in types for p in 'BI']
    for n in range(40):
        if n % 2:
            tags = [str(t) for t in rng.choice(tagset, int(rng.integers(0, 25)))]
        else:
            tags = []
            while len(tags) < 20:
                t = str(rng.choice(types))
                tags += ['O'] * int(rng.integers(0, 3)) + [f'B-{t}'] + [f'I-{t}'] * int(rng.integers(0, 3))
        want = get_entities(list(tags))
        with without('bert_tf.train.metrics.get_entities', 'bert_tf.train.metrics.entity_f1'):
            got = bio_entities(list(tags))
        assert got is not None, 'return the list of entities'
        got = [(str(e[0]), int(e[1]), int(e[2])) for e in got]
        assert got == want, f'tags {tags}: expected {want}, got {got} (seed {seed})'

