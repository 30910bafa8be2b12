from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 1

@test_case(points=None, hidden=False)
def test_few_shot_prompt(few_shot_prompt):
    from course.grading.checks import random_inputs
    assert callable(few_shot_prompt), 'define few_shot_prompt above and run its cell'
    seed, rng = random_inputs()
    letters = list('abcdefghijklmnopqrstuvwxyz')

    def word():
        return ''.join(rng.choice(letters, int(rng.integers(2, 8))))
    examples = [(word(), word()) for _ in range(int(rng.integers(1, 6)))]
    k = int(rng.integers(0, len(examples) + 1))
    instruction, query = (f'Task {word()}:', word())
    got = few_shot_prompt(instruction, examples, query, k)
    assert got is not None, 'return the prompt string'
    want = '\n'.join([instruction] + [f'{x} => {y}' for x, y in examples[:k]] + [f'{query} =>'])
    assert got == want, f'k={k}: expected\n{want!r}\ngot\n{got!r}\n(seed {seed})'

