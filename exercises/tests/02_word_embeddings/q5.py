from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 2

@test_case(points=None, hidden=False)
def test_analogy_accuracy(analogy_accuracy):
    import numpy as np
    from bert_tf.models import word2vec as w2v
    from course.grading.checks import random_inputs, without
    assert callable(analogy_accuracy), 'define analogy_accuracy above and run its cell'
    seed, rng = random_inputs()
    words = [f'w{i}' for i in range(40)]
    vectors = rng.normal(0, 1, (40, 3))
    questions = []
    for _ in range(int(rng.integers(30, 60))):
        a, b, c, d = rng.choice(words, 4, replace=False)
        if rng.random() < 0.5:
            d = w2v.WordVectors(words, vectors).analogy(a, b, c)[0][0]
        if rng.random() < 0.2:
            d = 'unknown'
        questions.append((a.upper(), b, c, d) if rng.random() < 0.3 else (a, b, c, d))
    reference = w2v.WordVectors(words, vectors).evaluate_analogies(*zip(*questions))
    with without('bert_tf.models.word2vec.WordVectors'):
        result = analogy_accuracy(words, vectors, questions)
    assert isinstance(result, tuple) and len(result) == 2, f'return a pair (accuracy, evaluated); got {type(result).__name__}'
    accuracy, evaluated = result
    assert evaluated == reference['evaluated'], f"{reference['evaluated']} of {len(questions)} questions have all four words in the vocabulary (after lowercasing); you evaluated {evaluated} (seed {seed})"
    assert abs(accuracy - reference['accuracy']) < 1e-09, f"accuracy {reference['accuracy']:.4f} expected, yours {accuracy} (seed {seed})"

