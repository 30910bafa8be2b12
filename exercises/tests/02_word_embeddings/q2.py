from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_skipgram_pairs(skipgram_pairs):
    from collections import Counter
    import numpy as np
    from course.grading.checks import random_inputs, without
    assert callable(skipgram_pairs), 'define skipgram_pairs above and run its cell'
    seed, rng = random_inputs()
    lengths = rng.integers(1, 15, size=int(rng.integers(3, 10)))
    ids = rng.integers(0, 30, size=int(lengths.sum()))
    sentence_of = np.repeat(np.arange(len(lengths)), lengths)
    window = int(rng.integers(1, 5))
    want = Counter()
    for i in range(len(ids)):
        for j in range(len(ids)):
            if i != j and abs(i - j) <= window and (sentence_of[i] == sentence_of[j]):
                want[int(ids[i]), int(ids[j])] += 1
    with without('bert_tf.models.word2vec.skipgram_pairs'):
        result = skipgram_pairs(ids, sentence_of, window)
    assert isinstance(result, tuple) and len(result) == 2, f'return two arrays, (words, contexts); got {type(result).__name__}'
    words, contexts = result
    assert len(words) == len(contexts), 'words and contexts must have the same length'
    got = Counter(zip(np.asarray(words).tolist(), np.asarray(contexts).tolist()))
    missing, extra = (want - got, got - want)
    assert not missing and (not extra), f'window={window}, sentence lengths {lengths.tolist()}: {sum(want.values())} pairs expected, you made {sum(got.values())}; missing e.g. {list(missing)[:3]}, extra e.g. {list(extra)[:3]} (seed {seed})'

