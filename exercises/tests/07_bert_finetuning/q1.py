from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_best_span(best_span):
    import keras
    import numpy as np
    from bert_tf.models.finetune import decode_best_span
    from course.grading.checks import random_inputs, without
    assert callable(best_span), 'define best_span above and run its cell'
    seed, rng = random_inputs()
    for _ in range(3):
        batch, seq = (int(rng.integers(1, 8)), int(rng.integers(4, 40)))
        start = rng.normal(0, 3, (batch, seq)).astype('float32')
        end = rng.normal(0, 3, (batch, seq)).astype('float32')
        context = np.zeros((batch, seq), 'int32')
        for r in range(batch):
            q = int(rng.integers(1, seq - 2))
            last = int(rng.integers(q + 3, seq + 1))
            context[r, q + 1:last - 1] = 1
        if rng.random() < 0.3:
            context = (rng.random((batch, seq)) < 0.5).astype('int32')
            context[np.arange(batch), rng.integers(0, seq, batch)] = 1
        max_len = int(rng.integers(1, seq + 1))
        want = [keras.ops.convert_to_numpy(v) for v in decode_best_span(start, end, max_len, context)]
        with without('bert_tf.models.finetune.decode_best_span', 'bert_tf.models.finetune.BertSpanQA.decode'):
            got = best_span(start, end, max_len, context)
        assert got is not None and len(got) == 3, 'return (starts, ends, scores)'
        got = [np.asarray(v) for v in got]
        for name, g in zip(('starts', 'ends', 'scores'), got):
            assert g.shape == (batch,), f'{name}: shape {g.shape}, expected ({batch},)'
        for r in range(batch):
            i, j = (int(got[0][r]), int(got[1][r]))
            valid = 0 <= i <= j < min(seq, i + max_len) and context[r, i] and context[r, j]
            assert valid and start[r, i] + end[r, j] >= want[2][r] - 0.0001, f'row {r} of {batch}, seq {seq}, max_answer_length {max_len}, passage at {np.flatnonzero(context[r]).tolist()}: the best span is ({int(want[0][r])}, {int(want[1][r])}) with score {want[2][r]:.4f}, you returned ({i}, {j})' + (f' with score {start[r, i] + end[r, j]:.4f}' if valid else ', not a valid span') + f' (seed {seed})'
        assert np.allclose(got[2], want[2], atol=0.0001), f'scores: expected {np.round(want[2], 4).tolist()}, got {np.round(got[2], 4).tolist()} (seed {seed})'

