from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=None, hidden=False)
def test_bert_input_embeddings(bert_input_embeddings):
    import keras
    import numpy as np
    from bert_tf.layers import BertEmbeddings
    from course.grading.checks import random_inputs, without
    assert callable(bert_input_embeddings), 'define bert_input_embeddings above and run its cell'
    seed, rng = random_inputs()
    vocab, hidden = (int(rng.integers(5, 60)), int(rng.integers(2, 24)))
    max_pos, types = (int(rng.integers(4, 20)), int(rng.integers(1, 4)))
    epsilon = float(rng.uniform(0.1, 1.0))
    batch, seq = (int(rng.integers(1, 4)), int(rng.integers(1, max_pos + 1)))
    layer = BertEmbeddings(vocab, hidden, max_pos, types, dropout=0.0, layer_norm_epsilon=epsilon)
    layer.build()
    tables = {name: rng.normal(0, 1, shape).astype('float32') for name, shape in [('word', (vocab, hidden)), ('segment', (types, hidden)), ('position', (max_pos, hidden)), ('gamma', (hidden,)), ('beta', (hidden,))]}
    for variable, name in [(layer.word_embeddings, 'word'), (layer.segment_embeddings, 'segment'), (layer.position_embeddings, 'position'), (layer.layer_norm.gamma, 'gamma'), (layer.layer_norm.beta, 'beta')]:
        variable.assign(tables[name])
    token_ids = rng.integers(0, vocab, (batch, seq)).astype('int32')
    segment_ids = rng.integers(0, types, (batch, seq)).astype('int32')
    want = keras.ops.convert_to_numpy(layer(token_ids, segment_ids))
    with without('bert_tf.layers.embeddings.BertEmbeddings.call'):
        got = bert_input_embeddings(token_ids, segment_ids, epsilon=epsilon, **tables)
    assert got is not None, 'return the embeddings'
    got = np.asarray(got)
    assert got.shape == want.shape, f'shape {got.shape}, expected (batch, seq, H) = {want.shape}'
    err = np.abs(got - want).max()
    assert err < 0.0001, f'(batch, seq, H) = {want.shape}, epsilon = {epsilon:g}: your embeddings differ from BertEmbeddings by up to {err:.3g} (seed {seed}). All three tables added? LayerNorm over the last axis, with epsilon inside the square root, then gamma and beta?'

