from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 3

@test_case(points=None, hidden=False)
def test_greedy_decode(greedy_decode):
    import keras
    import numpy as np
    from bert_tf.models.seq2seq import Seq2SeqConfig, Seq2SeqModel
    from course.grading.checks import random_inputs, without
    assert callable(greedy_decode), 'define greedy_decode above and run its cell'
    seed, rng = random_inputs()
    keras.utils.set_random_seed(seed % 2 ** 31)
    vocab = int(rng.integers(8, 30))
    config = Seq2SeqConfig(vocab_size=vocab, max_length=12, hidden_size=16, num_heads=2, intermediate_size=32, num_encoder_layers=1, num_decoder_layers=1, dropout=0.0, attention_dropout=0.0, initializer_range=0.5, pad_id=0, start_id=1, eos_id=vocab - 1)
    model = Seq2SeqModel(config)
    source = rng.integers(2, vocab, (int(rng.integers(2, 6)), int(rng.integers(3, 9))))
    source[0, -1] = 0
    free = model.generate(source, max_new_tokens=8)
    candidates = sorted(set(free.ravel().tolist()) - {0, 1}) or [vocab - 1]
    eos = min(candidates, key=lambda t: max((list(r).index(t) + 1 if t in r else 8 for r in free)))
    config.eos_id = eos
    want = model.generate(source, max_new_tokens=8)
    with without('bert_tf.models.seq2seq.Seq2SeqModel.generate'):
        got = greedy_decode(model, source, 8)
    assert got is not None, 'return the generated ids'
    got = np.asarray(got)
    assert got.ndim == 2 and got.shape[0] == len(source), f'shape {got.shape}: one row per source'
    assert got.shape == want.shape, f'[eos] = {eos}: expected {want.shape[1]} steps (stop when every row has written [eos], or after 8), got {got.shape[1]} (seed {seed})'
    assert np.array_equal(got, want), f'[eos] = {eos}: expected\n{want}\ngot\n{got}\n(pad after [eos]; seed {seed})'

