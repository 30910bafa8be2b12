from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 2

@test_case(points=None, hidden=False)
def test_within_across(within_across):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(within_across), 'define within_across above and run its cell'
    seed, rng = random_inputs()
    d = int(rng.integers(3, 10))
    a = rng.normal(0, 1, (int(rng.integers(2, 7)), d)) * rng.uniform(0.1, 10, (1, 1))
    b = rng.normal(0, 1, (int(rng.integers(2, 7)), d)) + rng.normal(0, 1, d)

    def cos(u, v):
        return u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    wa = np.mean([cos(a[i], a[j]) for i in range(len(a)) for j in range(i + 1, len(a))])
    wb = np.mean([cos(b[i], b[j]) for i in range(len(b)) for j in range(i + 1, len(b))])
    across = np.mean([cos(u, v) for u in a for v in b])
    got = within_across(a, b)
    assert got is not None and len(got) == 2, 'return (within, across)'
    assert np.allclose(got, ((wa + wb) / 2, across), atol=1e-06), f'{len(a)} and {len(b)} vectors of width {d}: expected within {(wa + wb) / 2:.4f}, across {across:.4f}; got {got} (seed {seed}). Pairs of different sentences only, for within.'

