from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=None, hidden=False)
def test_clipping(clip_after_allreduce, clip_per_replica):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(clip_after_allreduce) and callable(clip_per_replica), 'define both functions'
    seed, rng = random_inputs()
    replicas, shapes = (int(rng.integers(2, 6)), [(int(rng.integers(1, 5)), 3), (4,), (2, 2, 2)])
    shares = [[rng.normal(0, rng.uniform(0.1, 3), s) for s in shapes] for _ in range(replicas)]
    max_norm = float(rng.uniform(0.5, 2.0))

    def clip(grads):
        norm = np.sqrt(sum(((g ** 2).sum() for g in grads)))
        return [g * min(1.0, max_norm / norm) for g in grads]
    want_after = clip([np.mean([s[i] for s in shares], axis=0) for i in range(len(shapes))])
    clipped = [clip(s) for s in shares]
    want_per = [np.mean([c[i] for c in clipped], axis=0) for i in range(len(shapes))]
    for name, fn, want in (('clip_after_allreduce', clip_after_allreduce, want_after), ('clip_per_replica', clip_per_replica, want_per)):
        got = fn(shares, max_norm)
        assert got is not None and len(got) == len(shapes), f'{name}: return one array per variable'
        for i, (g, w) in enumerate(zip(got, want)):
            g = np.asarray(g)
            assert g.shape == w.shape, f'{name}: variable {i} has shape {g.shape}, expected {w.shape}'
            assert np.allclose(g, w, atol=1e-09), f'{name}: variable {i} differs by up to {np.abs(g - w).max():.3g} ({replicas} replicas, max_norm {max_norm:.2f}, seed {seed})'

