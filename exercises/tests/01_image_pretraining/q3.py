from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=None, hidden=False)
def test_linear_probe(linear_probe):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(linear_probe), 'define linear_probe above and run its cell'
    seed, rng = random_inputs()
    classes = int(rng.integers(2, 6))
    shape = tuple((int(s) for s in rng.integers(2, 5, size=3)))
    means = rng.normal(0, 1, (classes, *shape))

    def sample(n, informative=True):
        y = rng.integers(0, classes, n)
        x = rng.normal(0, 1, (n, *shape)) + (3 * means[y] if informative else 0)
        return (x.astype('float32'), y)
    (xa, ya), (xb, yb) = (sample(300), sample(200))
    accuracy = linear_probe(xa, ya, xb, yb)
    assert isinstance(accuracy, float), f'return a float, not {type(accuracy).__name__}'
    assert accuracy >= 0.9, f'features of shape {shape} that separate {classes} classes well: a linear probe should score >= 0.9, yours {accuracy:.3f} (seed {seed})'
    (xa, ya), (xb, yb) = (sample(300, False), sample(200, False))
    chance = linear_probe(xa, ya, xb, yb)
    assert 0 <= chance <= 1 / classes + 0.25, f'features that carry no information should score near chance ({1 / classes:.2f}), yours {chance:.3f}: is the accuracy measured on the test features? (seed {seed})'

