from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=None, hidden=False)
def test_head_statistics(head_statistics):
    import numpy as np
    from course.grading.checks import random_inputs, without
    assert callable(head_statistics), 'define head_statistics above and run its cell'
    seed, rng = random_inputs()
    batch, heads, seq = (int(rng.integers(2, 5)), int(rng.integers(1, 6)), int(rng.integers(3, 12)))
    lengths = rng.integers(2, seq + 1, batch)
    lengths[0] = seq
    lengths[1] = rng.integers(2, seq)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype('int32')
    logits = rng.normal(0, 2, (batch, heads, seq, seq))
    logits = np.where(mask[:, None, None, :] > 0, logits, -1000000000.0)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    probs = np.where(mask[:, None, :, None] > 0, probs, rng.random(probs.shape))
    want = {'previous': np.zeros(heads), 'next': np.zeros(heads), 'cls': np.zeros(heads)}
    count = 0
    for b in range(batch):
        for t in range(lengths[b]):
            count += 1
            for h in range(heads):
                want['cls'][h] += probs[b, h, t, 0]
                if t > 0:
                    want['previous'][h] += probs[b, h, t, t - 1]
                if t + 1 < lengths[b]:
                    want['next'][h] += probs[b, h, t, t + 1]
    want = {k: v / count for k, v in want.items()}
    with without('bert_tf.layers.self_attention.SelfAttention.attention_probabilities'):
        got = head_statistics(probs.astype('float32'), mask)
    assert isinstance(got, dict), 'return a dict of three arrays'
    for key in want:
        assert key in got, f'the dict has no {key!r}'
        g = np.asarray(got[key], dtype=float)
        assert g.shape == (heads,), f'{key}: shape {g.shape}, expected (heads,) = ({heads},)'
        assert np.allclose(g, want[key], atol=1e-05), f'rows of {lengths.tolist()} real tokens out of {seq}, {heads} heads: {key} should be {np.round(want[key], 4).tolist()}, got {np.round(g, 4).tolist()} (seed {seed}). Averaged over the real queries of all rows together, padded queries left out?'

