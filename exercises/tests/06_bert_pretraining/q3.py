from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 1

@test_case(points=None, hidden=False)
def test_truncate_pair_lengths(truncate_pair):
    from course.grading.checks import random_inputs
    assert callable(truncate_pair), 'define truncate_pair above and run its cell'
    seed, rng = random_inputs()
    for _ in range(40):
        a = list(range(1000, 1000 + int(rng.integers(0, 40))))
        b = list(range(2000, 2000 + int(rng.integers(0, 40))))
        max_tokens = int(rng.integers(1, 60))
        la, lb = (len(a), len(b))
        while la + lb > max_tokens:
            if la > lb:
                la -= 1
            else:
                lb -= 1
        got = truncate_pair(a, b, max_tokens, rng)
        assert got is not None and len(got) == 2, 'return the pair (a, b)'
        ga, gb = ([int(t) for t in got[0]], [int(t) for t in got[1]])
        case = f'len(a) = {len(a)}, len(b) = {len(b)}, max_tokens = {max_tokens}'
        assert a == list(range(1000, 1000 + len(a))) and b == list(range(2000, 2000 + len(b))), 'do not change the lists you were given'
        assert (len(ga), len(gb)) == (la, lb), f'{case}: longest first gives lengths ({la}, {lb}), you returned ({len(ga)}, {len(gb)}) (seed {seed})'
        for name, got_part, orig in [('a', ga, a), ('b', gb, b)]:
            assert set(got_part) <= set(orig), f'{case}: {name} has tokens that were not in it'
            k = orig.index(got_part[0]) if got_part else 0
            assert got_part == orig[k:k + len(got_part)], f'{case}: the truncated {name} must be a contiguous piece of the original (tokens are removed only at its ends) (seed {seed})'

@test_case(points=None, hidden=False)
def test_truncate_pair_random_ends(truncate_pair):
    import numpy as np
    from course.grading.checks import random_inputs
    seed, rng = random_inputs()
    long, short, max_tokens, trials = (int(rng.integers(20, 40)), 3, 13, 400)
    removed = long + short - max_tokens
    fronts = []
    for _ in range(trials):
        got = truncate_pair(list(range(long)), list(range(100, 100 + short)), max_tokens, rng)
        assert got is not None and len(got) == 2, 'return the pair (a, b)'
        a, b = ([int(t) for t in got[0]], got[1])
        assert len(b) == short, 'the shorter list keeps its tokens'
        fronts.append(a[0] if a else removed)
    fronts = np.array(fronts)
    assert abs(fronts.mean() - removed / 2) < 1.0 and fronts.std() > 0.5, f'a of {long} tokens, b of {short}, max_tokens {max_tokens}: each of the {removed} removals is from the front with probability 1/2, so about {removed / 2:.1f} from the front on average; you removed {fronts.mean():.1f} (spread {fronts.std():.1f}) (seed {seed})'

