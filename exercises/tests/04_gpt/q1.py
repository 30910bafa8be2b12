from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 1

@test_case(points=None, hidden=False)
def test_causal_mask(causal_mask):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(causal_mask), 'define causal_mask above and run its cell'
    seed, rng = random_inputs()
    n = int(rng.integers(2, 40))
    got = causal_mask(n)
    assert got is not None, 'return the mask'
    got = np.asarray(got)
    assert got.shape == (n, n), f'causal_mask({n}) should have shape ({n}, {n}), not {got.shape}'
    assert got.dtype == bool, f'a boolean mask, not {got.dtype}'
    i, j = (int(rng.integers(0, n)), int(rng.integers(0, n)))
    assert got[i, j] == (j <= i), f"causal_mask({n})[{i}, {j}] should be {j <= i}: query {i} {('may' if j <= i else 'must not')} see key {j}"
    assert np.array_equal(got, [[c <= r for c in range(n)] for r in range(n)]), f'wrong mask for n={n}'

