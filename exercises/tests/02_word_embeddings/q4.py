from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_analogy(analogy):
    import numpy as np
    from bert_tf.models import word2vec as w2v
    from course.grading.checks import random_inputs, without
    assert callable(analogy), 'define analogy above and run its cell'
    seed, rng = random_inputs()
    words = [f'w{i}' for i in range(int(rng.integers(20, 60)))]
    vectors = rng.normal(0, 1, (len(words), int(rng.integers(3, 9)))) * rng.uniform(0.1, 5, (len(words), 1))
    reference = w2v.WordVectors(words, vectors)
    for _ in range(10):
        a, b, c = rng.choice(words, 3, replace=False)
        want = reference.analogy(a, b, c, k=1)[0][0]
        with without('bert_tf.models.word2vec.WordVectors'):
            got = analogy(words, vectors, a, b, c)
        assert isinstance(got, str), f'return the answer word (a str), not {got!r}'
        assert got == want, f'{a} : {b} = {c} : ? should be {want}, yours {got} (vectors of different lengths: compare directions, not raw dot products; seed {seed})'

