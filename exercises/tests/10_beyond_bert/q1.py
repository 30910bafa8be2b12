from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 3

@test_case(points=None, hidden=False)
def test_infill(infill):
    from bert_tf.data.denoising import replace_spans, sample_spans as library_spans
    from course.grading.checks import random_inputs, without
    assert callable(infill), 'define infill above and run its cell'
    seed, rng = random_inputs()
    for _ in range(20):
        n = int(rng.integers(0, 30))
        ids = rng.integers(5, 100, n).tolist()
        spans = library_spans(n, rng, float(rng.uniform(0, 1)), float(rng.uniform(0.5, 4)))
        want = replace_spans(ids, spans, 4)
        with without('bert_tf.data.denoising.replace_spans', 'bert_tf.data.denoising.text_infilling'):
            got = infill(list(ids), spans, 4)
        assert got is not None, 'return the new list of ids'
        got = [int(t) for t in got]
        assert got == want, f'ids {ids}, spans {spans}, mask_id 4: expected {want}, got {got} (seed {seed})'

@test_case(points=None, hidden=False)
def test_sample_spans(sample_spans):
    from course.grading.checks import random_inputs, without
    assert callable(sample_spans), 'define sample_spans above and run its cell'
    seed, rng = random_inputs()
    for _ in range(50):
        n, ratio = (int(rng.integers(1, 60)), float(rng.uniform(0.05, 0.9)))
        with without('bert_tf.data.denoising.sample_spans', 'bert_tf.data.denoising.text_infilling'):
            spans = sample_spans(n, rng, ratio, float(rng.uniform(0.5, 5)))
        assert spans is not None, 'return the list of (start, span_length) pairs'
        spans = [(int(s), int(k)) for s, k in spans]
        budget = round(n * ratio)
        assert sum((k for _, k in spans)) == budget, f'length {n}, mask_ratio {ratio:.3f}: the spans cover {sum((k for _, k in spans))} tokens, expected round({n} * {ratio:.3f}) = {budget} (seed {seed})'
        end = 0
        for start, k in spans:
            assert k >= 0 and start >= end, f'length {n}: spans {spans} must be sorted and must not overlap (seed {seed})'
            end = start + k
        assert end <= n, f'length {n}: spans {spans} run past the end (seed {seed})'
        if spans:
            assert spans[-1][1] >= 1, f'only the last span is shortened, never to 0: {spans}'

