from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_reverse_within_length(reverse_within_length):
    import keras
    import numpy as np
    from bert_tf.models import elmo
    from course.grading.checks import random_inputs, without
    assert callable(reverse_within_length), 'define reverse_within_length above and run its cell'
    seed, rng = random_inputs()
    batch, seq = (int(rng.integers(2, 7)), int(rng.integers(3, 12)))
    lengths = rng.integers(1, seq + 1, size=batch)
    for x in (rng.integers(1, 100, (batch, seq)), rng.normal(0, 1, (batch, seq, int(rng.integers(1, 5))))):
        want = keras.ops.convert_to_numpy(elmo.reverse_within_length(x, lengths))
        original = x.copy()
        with without('bert_tf.models.elmo.reverse_within_length'):
            got = reverse_within_length(x, lengths)
        assert got is not None, 'return the reversed array'
        got = np.asarray(got)
        assert np.array_equal(x, original), 'leave the input as it is: return a new array'
        assert got.shape == want.shape, f'shape {got.shape}, expected {want.shape}'
        row = int(np.argmax([not np.allclose(g, w) for g, w in zip(got, want)]))
        assert np.allclose(got, want), f'row {row} (length {lengths[row]}): expected {np.round(want[row], 2).tolist()}, got {np.round(got[row], 2).tolist()} (seed {seed})'

