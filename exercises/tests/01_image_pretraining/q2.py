from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_freeze_lowest(freeze_lowest):
    import numpy as np
    from bert_tf.models.cnn import SmallCNN
    from course.grading.checks import random_inputs, without
    assert callable(freeze_lowest), 'define freeze_lowest above and run its cell'
    seed, rng = random_inputs()
    filters = tuple((int(f) for f in rng.integers(2, 9, size=int(rng.integers(1, 4)))))
    model = SmallCNN(num_classes=int(rng.integers(2, 6)), image_shape=(16, 16), filters=filters, dense_units=int(rng.integers(4, 17)))
    groups = model.layer_groups
    for _ in range(3):
        for name in groups:
            model.group(name).trainable = bool(rng.integers(0, 2))
        k = int(rng.integers(0, len(groups)))
        with without('bert_tf.models.cnn.SmallCNN.freeze'):
            count = freeze_lowest(model, k)
        assert model.trainable_groups() == groups[k:], f'after freeze_lowest(model, {k}) the trainable groups should be {groups[k:]}, not {model.trainable_groups()} (groups: {groups}; test seed {seed})'
        want = int(sum((np.prod(w.shape) for g in groups[k:] for w in model.group(g).weights)))
        assert count == want, f'freeze_lowest(model, {k}) returned {count}, but {want} parameters are trainable (test seed {seed})'

