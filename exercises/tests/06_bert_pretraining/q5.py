from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 1

@test_case(points=None, hidden=False)
def test_masked_query(masked_query):
    import os
    import tempfile
    import keras
    import numpy as np
    from bert_tf import BertConfig, BertPretrainer, BertTokenizer
    from course.grading.checks import random_inputs
    assert callable(masked_query), 'define masked_query above and run its cell'
    seed, rng = random_inputs()
    letters = list('abcdefghijklmnopqrstuvwxyz')
    words = sorted({''.join(rng.choice(letters, int(rng.integers(2, 6)))) for _ in range(40)})
    pieces = [f'##{c}' for c in letters]
    vocab = list(rng.permutation(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[', ']', '.', ',', *letters, *pieces, *words]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'vocab.txt')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(vocab) + '\n')
        tok = BertTokenizer(path)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=8, num_layers=1, num_heads=2, intermediate_size=16, max_position_embeddings=64)
    model = BertPretrainer(config)
    for _ in range(4):
        parts = [' '.join(rng.choice(words + ['Mask', '.'], int(rng.integers(0, 5)))) for _ in range(int(rng.integers(2, 5)))]
        text = '[MASK]'.join(parts)
        ids = [tok.cls_id]
        for i, piece in enumerate(tok.tokenize_ids(parts)):
            ids += ([tok.mask_id] if i else []) + piece
        ids.append(tok.sep_id)
        want = np.array([ids])
        want_positions = [[i for i, t in enumerate(ids) if t == tok.mask_id]]
        got = masked_query(tok, text)
        assert isinstance(got, dict), 'return a dict of four arrays'
        for key in ('token_ids', 'segment_ids', 'padding_mask', 'masked_positions'):
            assert key in got, f'the dict has no {key!r}'
        tokens = ' '.join(tok.convert_ids_to_tokens(want[0]))
        assert np.array_equal(np.asarray(got['token_ids']), want), f"text {text!r}: token_ids should be {want.tolist()} ({tokens}), got {np.asarray(got['token_ids']).tolist()} (seed {seed})"
        assert np.array_equal(np.asarray(got['masked_positions']), want_positions), f"text {text!r} ({tokens}): masked_positions should be {want_positions}, got {np.asarray(got['masked_positions']).tolist()} (seed {seed})"
        assert np.array_equal(np.asarray(got['segment_ids']), np.zeros_like(want)), 'segment_ids: all 0'
        assert np.array_equal(np.asarray(got['padding_mask']), np.ones_like(want)), 'padding_mask: all 1'
        logits = keras.ops.convert_to_numpy(model({k: np.asarray(v) for k, v in got.items()})['mlm_logits'])
        assert logits.shape == (1, len(want_positions[0]), tok.vocab_size), f'a BertPretrainer on your inputs gives MLM logits of shape {logits.shape}, expected (1, {len(want_positions[0])}, {tok.vocab_size}): one distribution per [MASK]'

