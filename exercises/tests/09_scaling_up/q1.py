from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_batch_plan(batch_plan):
    import math
    from course.grading.checks import random_inputs
    assert callable(batch_plan), 'define batch_plan above and run its cell'
    seed, rng = random_inputs()
    for _ in range(20):
        replicas = int(rng.choice([1, 2, 4, 8, 16, 32, 64]))
        per_replica = int(rng.integers(1, 129))
        accumulation = int(rng.integers(1, 9))
        examples = int(rng.integers(1000, 10000000))
        base_lr, base_batch = (float(rng.choice([0.0001, 5e-05, 0.0002])), int(rng.choice([128, 256, 512])))
        rule = str(rng.choice(['linear', 'sqrt']))
        got = batch_plan(per_replica * replicas, replicas, accumulation, examples, base_lr, base_batch, rule)
        assert isinstance(got, dict), 'return a dict'
        effective = per_replica * replicas * accumulation
        ratio = effective / base_batch
        want = {'per_replica': per_replica, 'effective': effective, 'steps_per_epoch': examples // effective, 'learning_rate': base_lr * (ratio if rule == 'linear' else math.sqrt(ratio))}
        case = f'global batch {per_replica * replicas}, {replicas} replicas, accumulation {accumulation}, {examples:,} examples, rule {rule!r} (seed {seed})'
        for key in ('per_replica', 'effective', 'steps_per_epoch'):
            assert key in got, f'missing key {key!r}'
            assert int(got[key]) == want[key], f'{case}: {key} should be {want[key]}, not {got[key]}'
        assert math.isclose(got['learning_rate'], want['learning_rate'], rel_tol=1e-09), f"{case}: learning_rate should be {want['learning_rate']:.4g}, not {got['learning_rate']}"

@test_case(points=None, hidden=False)
def test_batch_plan_refuses_uneven_split(batch_plan):
    from course.grading.checks import random_inputs
    seed, rng = random_inputs()
    replicas = int(rng.choice([2, 4, 8]))
    bad = replicas * int(rng.integers(1, 50)) + int(rng.integers(1, replicas))
    try:
        batch_plan(bad, replicas, 1, 10000)
    except ValueError:
        return
    raise AssertionError(f'a global batch of {bad} cannot be split over {replicas} replicas: raise ValueError (seed {seed})')

