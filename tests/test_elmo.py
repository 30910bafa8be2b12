"""bert_tf.models.elmo: directions see only their side, layers exposed, char CNN, training."""

import keras
import numpy as np
import pytest
from bert_helpers import to_numpy

from bert_tf.layers import ScalarMix
from bert_tf.models.elmo import ELMo, ELMoLanguageModel, char_ids, lm_targets, reverse_within_length

pytestmark = pytest.mark.multibackend

V, SEQ, H = 19, 8, 12


def _inputs(lengths=(8, 5), seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, (len(lengths), SEQ)).astype("int32")
    ids[np.arange(SEQ)[None, :] >= np.array(lengths)[:, None]] = 0
    return {"token_ids": ids}


@pytest.mark.parametrize("use_chars", [False, True])
def test_forward_never_sees_the_future_and_backward_never_sees_the_past(use_chars):
    elmo = ELMo(V, hidden_size=H, num_layers=2, dropout=0.0, use_chars=use_chars)
    x = _inputs()
    words = [[f"w{i}" * (i % 3 + 1) for i in row if i] for row in x["token_ids"]]
    if use_chars:
        x["char_ids"] = char_ids(words, max_chars=8, seq_len=SEQ)
    out = elmo(x)
    assert len(out["layers"]) == 3 and all(t.shape == (2, SEQ, 2 * H) for t in out["layers"])
    t = 3
    changed = {k: v.copy() for k, v in x.items()}
    changed["token_ids"][0, t + 1:] = (changed["token_ids"][0, t + 1:] % (V - 1)) + 1
    if use_chars:
        changed["char_ids"][0, t + 1:] = np.roll(changed["char_ids"][0, t + 1:], 1, axis=0)
        changed["char_ids"][0, t + 1:, 1] += 1
    after = elmo(changed)
    f0, f1 = to_numpy(out["forward"])[0], to_numpy(after["forward"])[0]
    b0, b1 = to_numpy(out["backward"])[0], to_numpy(after["backward"])[0]
    np.testing.assert_allclose(f1[:t + 1], f0[:t + 1], atol=1e-6)  # forward: only the past
    assert np.abs(f1[t + 1:] - f0[t + 1:]).max() > 1e-4
    assert np.abs(b1[:t + 1] - b0[:t + 1]).max() > 1e-4  # backward sees the future
    # Now change the past: the backward states at t.. stay put.
    changed = {k: v.copy() for k, v in x.items()}
    changed["token_ids"][0, :t] = (changed["token_ids"][0, :t] % (V - 1)) + 1
    if use_chars:
        changed["char_ids"][0, :t, 1] += 1
    after = elmo(changed)
    np.testing.assert_allclose(to_numpy(after["backward"])[0, t:], b0[t:], atol=1e-6)
    assert np.abs(to_numpy(after["forward"])[0, :t] - f0[:t]).max() > 1e-4
    # The padded row's backward LSTM starts at its last real token, not in the padding.
    padded = to_numpy(elmo({k: v[1:] for k, v in x.items()})["backward"])[0, :5]
    np.testing.assert_allclose(to_numpy(out["backward"])[1, :5], padded, atol=1e-5)


def test_layers_are_token_then_forward_backward_concatenations():
    elmo = ELMo(V, hidden_size=H, num_layers=2, dropout=0.0)
    out = elmo(_inputs())
    layer0 = to_numpy(out["layers"][0])
    np.testing.assert_allclose(layer0[..., :H], layer0[..., H:])
    top = to_numpy(out["layers"][2])
    np.testing.assert_allclose(top[..., :H], to_numpy(out["forward"]), atol=1e-6)
    np.testing.assert_allclose(top[..., H:], to_numpy(out["backward"]), atol=1e-6)
    mixed = ScalarMix()(out["layers"])  # untrained: the plain average of the three layers
    np.testing.assert_allclose(to_numpy(mixed), np.mean([to_numpy(t) for t in out["layers"]], 0),
                               atol=1e-5)


def test_reverse_within_length_and_targets():
    x = np.array([[1, 2, 3, 0], [4, 5, 6, 7]], "int32")
    np.testing.assert_array_equal(to_numpy(reverse_within_length(x, [3, 4])),
                                  [[3, 2, 1, 0], [7, 6, 5, 4]])
    forward, backward, fw, bw = (to_numpy(t) for t in lm_targets(x))
    np.testing.assert_array_equal(forward, [[2, 3, 0, 0], [5, 6, 7, 0]])
    np.testing.assert_array_equal(backward, [[0, 1, 2, 3], [0, 4, 5, 6]])  # padding: weight 0
    np.testing.assert_array_equal(fw, [[1, 1, 0, 0], [1, 1, 1, 0]])
    np.testing.assert_array_equal(bw, [[0, 1, 1, 0], [0, 1, 1, 1]])
    c = char_ids([["ab", "é"]], max_chars=4)
    np.testing.assert_array_equal(c[0], [[257, 98, 99, 258], [257, 196, 170, 258]])


def test_fit_learns_both_directions_with_a_shared_softmax():
    elmo = ELMo(V, hidden_size=16, num_layers=1, dropout=0.0)
    lm = ELMoLanguageModel(elmo)
    lm.compile(optimizer=keras.optimizers.Adam(2e-2))
    # token t+1 = token t + 1: the forward LM predicts up, the backward LM predicts down.
    start = np.random.default_rng(2).integers(1, V, (64, 1))
    ids = ((start + np.arange(SEQ)[None, :] - 1) % (V - 1) + 1).astype("int32")
    x = {"token_ids": ids}
    before = [float(v) for v in lm.lm_losses(x)]
    lm.fit(x, batch_size=32, epochs=20, verbose=0)
    after = [float(v) for v in lm.lm_losses(x)]
    assert min(before) > 2.5 and max(after) < 0.5 * min(before)
    logits = lm(x)
    assert (to_numpy(logits["forward_logits"])[:, :-1].argmax(-1) == ids[:, 1:]).mean() > 0.9
    assert (to_numpy(logits["backward_logits"])[:, 1:].argmax(-1) == ids[:, :-1]).mean() > 0.9
    assert len([w for w in lm.weights if "softmax" in w.path]) == 2  # one kernel, one bias


def test_round_trip(tmp_path):
    elmo = ELMo(V, hidden_size=H, num_layers=2, dropout=0.0, use_chars=True)
    x = {"token_ids": _inputs()["token_ids"], "char_ids": char_ids([["a", "bc"], ["d"]],
                                                                  seq_len=SEQ)}
    lm = ELMoLanguageModel(elmo)
    out = lm(x)
    path = str(tmp_path / "elmo.keras")
    lm.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(x)["forward_logits"]),
                               to_numpy(out["forward_logits"]), atol=1e-5)
