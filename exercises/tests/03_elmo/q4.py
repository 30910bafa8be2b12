from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_scalar_mix(MyScalarMix):
    import keras
    import numpy as np
    from bert_tf.layers import ScalarMix
    from course.grading.checks import random_inputs
    assert isinstance(MyScalarMix, type), 'define the class MyScalarMix above and run its cell'
    seed, rng = random_inputs()
    n_layers = int(rng.integers(2, 6))
    shape = tuple((int(s) for s in rng.integers(1, 5, size=3)))
    layers = [rng.normal(0, 1, shape).astype('float32') for _ in range(n_layers)]
    mix = MyScalarMix()
    start = keras.ops.convert_to_numpy(mix(layers))
    assert np.allclose(start, np.mean(layers, axis=0), atol=1e-05), 'untrained (weights 0, gamma 1) the mix must be the plain average of the layers'
    assert len(mix.trainable_weights) == 2, f'two trainable weights (scalar_weights, gamma), found {len(mix.trainable_weights)}'
    assert tuple(mix.scalar_weights.shape) == (n_layers,) and tuple(mix.gamma.shape) == (), f'scalar_weights: one per layer ({n_layers},), gamma: shape (); got {tuple(mix.scalar_weights.shape)} and {tuple(mix.gamma.shape)}'
    w, gamma = (rng.normal(0, 1.5, n_layers).astype('float32'), np.float32(rng.uniform(0.2, 3)))
    mix.scalar_weights.assign(w)
    mix.gamma.assign(gamma)
    reference = ScalarMix()
    reference(layers)
    reference.scalar_weights.assign(w)
    reference.gamma.assign(gamma)
    want = keras.ops.convert_to_numpy(reference(layers))
    got = keras.ops.convert_to_numpy(mix(layers))
    assert np.allclose(got, want, atol=1e-05), f'with w = {np.round(w, 2).tolist()} and gamma = {gamma:.2f}, {n_layers} layers: wrong mix, largest error {np.abs(got - want).max():.3g} (seed {seed})'

