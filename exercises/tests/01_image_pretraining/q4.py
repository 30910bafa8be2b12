from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_fine_tune(fine_tune):
    import numpy as np
    from bert_tf.models.cnn import SmallCNN
    from course.grading.checks import random_inputs
    assert callable(fine_tune), 'define fine_tune above and run its cell'
    seed, rng = random_inputs()
    pretrained = SmallCNN(num_classes=int(rng.integers(2, 5)), image_shape=(8, 8), filters=(4, 8), dense_units=8)
    before = [w.copy() for w in pretrained.get_weights()]
    classes = int(rng.integers(2, 5))
    x = rng.random((64, 8, 8)).astype('float32')
    y = np.concatenate([np.arange(classes), rng.integers(0, classes, 64 - classes)]).astype('int32')
    k = int(rng.integers(0, 3))
    model = fine_tune(pretrained, k, x, y, steps=4, batch_size=16, seed=int(rng.integers(100)))
    where = f'(num_frozen={k}, {classes} classes, test seed {seed})'
    assert isinstance(model, SmallCNN), f'return the new SmallCNN, not {type(model).__name__}'
    assert model is not pretrained, 'return a new network; the pretrained one must stay as it is'
    assert all((np.array_equal(a, b) for a, b in zip(before, pretrained.get_weights()))), f"fine_tune changed the pretrained network's weights {where}"
    assert model.num_classes == classes, f'the head needs {classes} outputs, has {model.num_classes} {where}'
    assert model.trainable_groups() == model.layer_groups[k:], f'trainable groups {model.trainable_groups()}, expected {model.layer_groups[k:]} {where}'
    for i, name in enumerate(['block_1', 'block_2']):
        old = pretrained.group(name).get_weights()[0]
        new = model.group(name).get_weights()[0]
        if i < k:
            assert np.array_equal(old, new), f'frozen {name} must keep the pretrained weights {where}'
        else:
            assert not np.array_equal(old, new), f'{name} is not frozen, so training must change it: was the model trained for `steps` steps? {where}'
    assert not np.array_equal(pretrained.group('dense').get_weights()[0], model.group('dense').get_weights()[0]), f'`dense` must start afresh, not from the pretrained weights {where}'

