from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_group_parameters(group_parameters):
    import numpy as np
    from bert_tf.models.cnn import SmallCNN
    from course.grading.checks import random_inputs, without
    assert callable(group_parameters), 'define group_parameters above and run its cell'
    seed, rng = random_inputs()
    for _ in range(3):
        image_shape = (int(rng.integers(8, 33)), int(rng.integers(8, 33)))
        filters = tuple((int(f) for f in rng.integers(2, 17, size=int(rng.integers(1, 4)))))
        units, classes = (int(rng.integers(4, 65)), int(rng.integers(2, 11)))
        model = SmallCNN(num_classes=classes, image_shape=image_shape, filters=filters, dense_units=units)
        want = {g: int(sum((np.prod(w.shape) for w in model.group(g).weights))) for g in model.layer_groups}
        with without('bert_tf.models.cnn.SmallCNN.__init__'):
            got = group_parameters(image_shape, filters, units, classes)
        assert isinstance(got, dict), f'return a dict, not {type(got).__name__}'
        assert got == want, f'group_parameters({image_shape}, {filters}, {units}, {classes}) returned {got}; the real network has {want} (test seed {seed})'

