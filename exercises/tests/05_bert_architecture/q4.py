from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_pack_pair(pack_pair):
    import os
    import tempfile
    import numpy as np
    from bert_tf import BertTokenizer
    from course.grading.checks import random_inputs, without
    assert callable(pack_pair), 'define pack_pair above and run its cell'
    seed, rng = random_inputs()
    letters = np.array(list('abcdefghijklmnopqrstuvwxyz'))
    words = sorted({''.join(rng.choice(letters, int(rng.integers(3, 7)))) for _ in range(60)})
    vocab = list(rng.permutation(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', *words]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'vocab.txt')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(vocab) + '\n')
        tok = BertTokenizer(path)
        for i in range(6):
            n_a, n_b = (int(rng.integers(0, 14)), int(rng.integers(0, 14)))
            if i == 0:
                n_a = n_b = int(rng.integers(2, 14))
            text_a = ' '.join(rng.choice(words, n_a))
            text_b = ' '.join(rng.choice(words, n_b))
            max_length = 2 * int(rng.integers(2, n_a + 1)) if i == 0 else int(rng.integers(3, 24))
            want = tok(text_a, text_b, max_length=max_length)
            a_ids, b_ids = tok.tokenize_ids([text_a, text_b])
            a_copy, b_copy = (list(a_ids), list(b_ids))
            with without('bert_tf.text.tokenizer.BertTokenizer.__call__'):
                got = pack_pair(a_ids, b_ids, tok.cls_id, tok.sep_id, tok.pad_id, max_length)
            assert isinstance(got, dict), 'return a dict with token_ids, segment_ids, padding_mask'
            assert list(a_ids) == a_copy and list(b_ids) == b_copy, 'do not change the input lists'
            for key in ('token_ids', 'segment_ids', 'padding_mask'):
                assert key in got, f'the dict has no {key!r}'
                value = np.asarray(got[key])
                assert value.shape == (max_length,), f'{key}: shape {value.shape}, expected ({max_length},)'
                assert np.array_equal(value, want[key][0]), f'A has {len(a_ids)}, B {len(b_ids)} tokens, max_length {max_length}: {key} should be {want[key][0].tolist()}, got {value.tolist()} (seed {seed})'

