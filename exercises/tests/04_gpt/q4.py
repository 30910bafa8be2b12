from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_entailment_ids(entailment_ids):
    import numpy as np
    from bert_tf.models.gpt import GPTInputFormatter
    from course.grading.checks import random_inputs, without
    assert callable(entailment_ids), 'define entailment_ids above and run its cell'
    seed, rng = random_inputs()
    for _ in range(5):
        premise = rng.integers(4, 100, int(rng.integers(0, 30))).tolist()
        hypothesis = rng.integers(4, 100, int(rng.integers(0, 30))).tolist()
        start, delim, extract = (int(i) for i in rng.permutation(np.arange(1, 4)))
        max_length = int(rng.integers(4, 60))
        packed = GPTInputFormatter(start, delim, extract, max_length).entailment([premise], [hypothesis])
        want = packed['token_ids'][0, :packed['extract_index'][0] + 1].tolist()
        with without('bert_tf.models.gpt.GPTInputFormatter'):
            got = entailment_ids(premise, hypothesis, start, delim, extract, max_length)
        assert got is not None, 'return the list of ids'
        got = [int(i) for i in got]
        assert got == want, f'premise of {len(premise)}, hypothesis of {len(hypothesis)} ids, max_length {max_length}: expected {want}, got {got} (seed {seed})'

