from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=None, hidden=False)
def test_encode_words(encode_words):
    import os
    import tempfile
    import numpy as np
    from bert_tf.text.tokenizer import BertTokenizer
    from bert_tf.train.finetune import encode_tagging
    from course.grading.checks import random_inputs, without
    assert callable(encode_words), 'define encode_words above and run its cell'
    seed, rng = random_inputs()
    letters = list('abcdefghijklmnopqrstuvwxyz')
    known = sorted({''.join(rng.choice(letters, int(rng.integers(2, 6)))) for _ in range(30)})
    vocab = list(rng.permutation(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', *letters, *[f'##{c}' for c in letters], *known]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'vocab.txt')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(vocab) + '\n')
        tok = BertTokenizer(path)
    for k in range(6):
        n = int(rng.integers(1, 12))
        words = [str(rng.choice(known)) if rng.random() < 0.5 else ''.join(rng.choice(letters, int(rng.integers(1, 7)))) for _ in range(n)]
        tags = [int(t) for t in rng.integers(1, 9, n)]
        pieces = [len(p) for p in tok.tokenize_ids(words)]
        if k % 2 == 0:
            max_length = sum(pieces) + 2 + int(rng.integers(0, 6))
        else:
            max_length = int(rng.integers(2, sum(pieces) + 3))
        fits = int(np.searchsorted(np.cumsum(pieces), max_length - 2, side='right'))
        want = encode_tagging(tok, [words[:fits]], [tags[:fits]], max_length)
        want = {key: want[key][0] for key in ('token_ids', 'padding_mask', 'labels', 'weights')} | {'first_piece': np.concatenate([want['first_piece'][0][:fits], np.full(n - fits, -1)])}
        with without('bert_tf.train.finetune.encode_tagging', 'bert_tf.train.finetune.encode'):
            got = encode_words(tok, list(words), list(tags), max_length)
        assert isinstance(got, dict), 'return a dict of five arrays'
        shown = ' '.join((f"{w}({'/'.join(tok.tokenize(w))})" for w in words))
        for key, value in want.items():
            assert key in got, f'the dict has no {key!r}'
            g = np.asarray(got[key])
            assert g.shape == value.shape, f'{key}: shape {g.shape}, expected {value.shape}'
            assert np.array_equal(g, value), f'words {shown}, tags {tags}, max_length {max_length}: {key} should be {value.tolist()}, got {g.tolist()} (seed {seed})'

