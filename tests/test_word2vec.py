"""word2vec: vocabulary, subsampling and noise distribution (checked against gensim's own
tables), vectorised skip-gram/CBOW windows (checked against brute force), the Keras model's
logits, `.keras` round trip, that training separates word groups, and the evaluation helpers
(checked against gensim's evaluate_word_analogies / evaluate_word_pairs on the real sets)."""

import itertools

import keras
import numpy as np
import pytest

from bert_tf.models import word2vec as w2v

pytestmark = pytest.mark.multibackend

SENTENCES = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat"],
             ["a", "cat", "and", "a", "dog"], ["the", "end"]]


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_tokenize():
    assert w2v.tokenize("Paris's 2 parks, Café!") == ["paris", "s", "2", "parks", "caf"]


def test_vocabulary_counts_order_and_encoding():
    vocab = w2v.Vocabulary.build(SENTENCES, min_count=2)
    assert vocab.words == ["the", "a", "cat", "dog", "sat"]  # by count, then alphabetical
    assert vocab.counts.tolist() == [4, 2, 2, 2, 2]
    assert "mat" not in vocab and "cat" in vocab and len(vocab) == 5
    ids, sentence_of = vocab.encode(SENTENCES)
    assert ids.tolist() == [0, 2, 4, 0, 0, 3, 4, 1, 2, 1, 3, 0]
    assert sentence_of.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3]
    assert len(w2v.Vocabulary.build(SENTENCES, min_count=1, max_size=3)) == 3
    with pytest.raises(ValueError, match="min_count"):
        w2v.Vocabulary.build(SENTENCES, min_count=100)


def _gensim_model(sentences, sample):
    gensim = pytest.importorskip("gensim")
    model = gensim.models.Word2Vec(vector_size=4, min_count=1, sample=sample, workers=1)
    model.build_vocab(sentences)
    return model


def _zipf_corpus(seed=0, n=4000, words=60):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, words + 1)
    tokens = rng.choice(words, size=n, p=p / p.sum())
    return [[f"w{t}" for t in tokens[i:i + 10]] for i in range(0, n, 10)]


def test_subsampling_and_noise_tables_match_gensim():
    corpus = _zipf_corpus()
    vocab = w2v.Vocabulary.build(corpus, min_count=1)
    model = _gensim_model(corpus, sample=1e-2)
    keep = w2v.keep_probabilities(vocab.counts, sample=1e-2)
    gensim_keep = np.array([model.wv.get_vecattr(w, "sample_int") for w in vocab.words]) / (
        2**32 - 1)
    np.testing.assert_allclose(keep, gensim_keep, atol=1e-6)
    assert keep[0] < 0.5 and keep[-1] == 1.0  # the most frequent word is dropped most
    assert np.all(w2v.keep_probabilities(vocab.counts, sample=0) == 1.0)
    # gensim's negative-sampling table is the cumulative count**0.75 distribution.
    order = [vocab.index[w] for w in model.wv.index_to_key]
    noise = w2v.noise_distribution(vocab.counts)[order]
    np.testing.assert_allclose(np.cumsum(noise), model.cum_table / model.cum_table[-1],
                               atol=1e-6)


def test_draw_negatives_follow_the_noise_distribution():
    noise = w2v.noise_distribution([100, 10, 1, 1000])
    draws = w2v.draw_negatives(noise, (200_000,), np.random.default_rng(0))
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, noise, atol=0.005)
    np.testing.assert_allclose(noise, np.array([100, 10, 1, 1000]) ** 0.75
                               / np.sum(np.array([100, 10, 1, 1000]) ** 0.75))


def _brute_force_pairs(ids, sentence_of, reach):
    pairs = []
    for i, j in itertools.permutations(range(len(ids)), 2):
        if sentence_of[i] == sentence_of[j] and abs(i - j) <= reach[i]:
            pairs.append((int(ids[i]), int(ids[j])))
    return sorted(pairs)


def test_skipgram_pairs_match_brute_force_within_sentences():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 50, 40).astype(np.int32)
    sentence_of = np.repeat(np.arange(5), [3, 12, 1, 20, 4]).astype(np.int32)
    words, contexts = w2v.skipgram_pairs(ids, sentence_of, 3, rng, dynamic_window=False)
    assert sorted(zip(words.tolist(), contexts.tolist(), strict=True)) == _brute_force_pairs(
        ids, sentence_of, np.full(40, 3))
    # Dynamic window: the same rng draw decides each position's reach.
    reach = np.random.default_rng(7).integers(1, 4, size=40)
    words, contexts = w2v.skipgram_pairs(ids, sentence_of, 3, np.random.default_rng(7))
    assert sorted(zip(words.tolist(), contexts.tolist(), strict=True)) == _brute_force_pairs(
        ids, sentence_of, reach)


def test_dynamic_window_weights_near_words_more():
    n, window = 20_000, 4
    ids = np.arange(n, dtype=np.int32)
    words, contexts = w2v.skipgram_pairs(ids, np.zeros(n, np.int32), window,
                                         np.random.default_rng(0))
    distance = np.abs(words - contexts)
    share = np.bincount(distance, minlength=window + 1)[1:] / (2 * n)
    # A word at distance d is used with probability (window - d + 1) / window.
    np.testing.assert_allclose(share, [(window - d + 1) / window for d in range(1, 5)], atol=0.02)


def test_cbow_windows_match_brute_force():
    rng = np.random.default_rng(4)
    ids = rng.integers(1, 30, 25).astype(np.int32)
    sentence_of = np.repeat(np.arange(4), [1, 9, 7, 8]).astype(np.int32)
    centres, context, mask = w2v.cbow_windows(ids, sentence_of, 2, rng, dynamic_window=False)
    expected = []
    for i in range(len(ids)):
        ctx = [int(ids[i + o]) for o in (-2, -1, 1, 2)
               if 0 <= i + o < len(ids) and sentence_of[i + o] == sentence_of[i]]
        if ctx:
            expected.append((int(ids[i]), sorted(ctx)))
    got = [(int(c), sorted(int(w) for w, m in zip(row, mrow, strict=True) if m))
           for c, row, mrow in zip(centres, context, mask, strict=True)]
    assert got == expected  # the one-word sentence has no context and is dropped
    assert np.all(context[mask == 0] == 0)


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_examples_shapes_labels_and_seed(mode):
    vocab = w2v.Vocabulary.build(_zipf_corpus(), min_count=1)
    ids, sentence_of = vocab.encode(_zipf_corpus())
    make = w2v.skipgram_examples if mode == "skipgram" else w2v.cbow_examples
    x, y = make(ids, sentence_of, vocab, window=3, negatives=4, sample=1e-3, seed=1)
    n = len(y)
    assert y.shape == (n, 5) and np.all(y[:, 0] == 1) and np.all(y[:, 1:] == 0)
    assert x["candidates"].shape == (n, 5)
    assert x["candidates"].max() < len(vocab)
    if mode == "cbow":
        assert x["context"].shape == x["context_mask"].shape == (n, 6)
        assert np.all(x["context_mask"].sum(1) >= 1)
    x2, _ = make(ids, sentence_of, vocab, window=3, negatives=4, sample=1e-3, seed=1)
    x3, _ = make(ids, sentence_of, vocab, window=3, negatives=4, sample=1e-3, seed=2)
    np.testing.assert_array_equal(x["candidates"], x2["candidates"])
    assert not np.array_equal(x["candidates"][:100], x3["candidates"][:100])
    # Subsampling removes occurrences of the most frequent word.
    x_all, _ = make(ids, sentence_of, vocab, window=3, negatives=4, sample=0, seed=1)
    assert len(y) < len(x_all["candidates"])


def test_skipgram_logits_are_dot_products():
    model = w2v.Word2Vec(20, 6, "skipgram")
    rng = np.random.default_rng(0)
    model.context_embeddings.embeddings.assign(rng.normal(size=(20, 6)).astype("float32"))
    x = {"word": np.array([3, 7], "int32"), "candidates": np.array([[1, 2, 3], [0, 7, 19]],
                                                                      "int32")}
    w, c = model.vectors, _np(model.context_embeddings.embeddings)
    expected = np.einsum("bd,bkd->bk", w[x["word"]], c[x["candidates"]])
    np.testing.assert_allclose(_np(model(x)), expected, atol=1e-6)
    assert np.abs(w).max() <= 0.5 / 6  # word2vec.c initialisation


def test_cbow_averages_only_real_context_words():
    model = w2v.Word2Vec(20, 6, "cbow")
    rng = np.random.default_rng(1)
    model.context_embeddings.embeddings.assign(rng.normal(size=(20, 6)).astype("float32"))
    x = {"context": np.array([[4, 5, 0, 0], [1, 2, 3, 9]], "int32"),
         "context_mask": np.array([[1, 1, 0, 0], [1, 1, 1, 1]], "float32"),
         "candidates": np.array([[6, 7], [8, 9]], "int32")}
    w, c = model.vectors, _np(model.context_embeddings.embeddings)
    h = np.stack([w[[4, 5]].mean(0), w[[1, 2, 3, 9]].mean(0)])
    np.testing.assert_allclose(_np(model(x)), np.einsum("bd,bkd->bk", h, c[x["candidates"]]),
                               atol=1e-6)
    padded = dict(x, context=np.array([[4, 5, 11, 12], [1, 2, 3, 9]], "int32"))
    np.testing.assert_allclose(_np(model(padded)), _np(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="mode"):
        w2v.Word2Vec(5, 2, "glove")


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_keras_round_trip_in_safe_mode(tmp_path, mode):
    model = w2v.Word2Vec(30, 8, mode)
    model.context_embeddings.embeddings.assign(
        np.random.default_rng(2).normal(size=(30, 8)).astype("float32"))
    path = str(tmp_path / "w2v.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.vectors, model.vectors)


def _two_topic_corpus(seed=0, sentences=400):
    """Sentences use words from one topic only: training must pull each topic together."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    return [list(rng.choice(topics[s % 2], size=8)) for s in range(sentences)], topics


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_training_groups_words_that_share_contexts(mode):
    corpus, topics = _two_topic_corpus()
    vocab = w2v.Vocabulary.build(corpus, min_count=1)
    ids, sentence_of = vocab.encode(corpus)
    model = w2v.Word2Vec(len(vocab), 16, mode)
    losses = w2v.fit_word2vec(model, ids, sentence_of, vocab, epochs=4, batch_size=256,
                              window=3, negatives=4, sample=0, learning_rate=2e-2)
    assert losses[-1] < losses[0]
    vectors = w2v.WordVectors(vocab.words, model.vectors)
    within = np.mean([vectors.similarity(a, b) for t in topics
                      for a, b in itertools.combinations(t, 2)])
    across = np.mean([vectors.similarity(a, b) for a in topics[0] for b in topics[1]])
    assert within > across + 0.3, (within, across)
    neighbours = [w for w, _ in vectors.nearest("a0", k=5)]
    assert all(w.startswith("a") for w in neighbours)


def test_word_vectors_lookups_and_analogy():
    words = ["king", "queen", "man", "woman", "apple"]
    rng = np.random.default_rng(0)
    royal, female, base = rng.normal(size=(3, 10))
    vectors = np.stack([base + royal, base + royal + female, base, base + female,
                        rng.normal(size=10) * 3])
    wv = w2v.WordVectors(words, vectors)
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert [w for w, _ in wv.nearest("king", k=4)] != [] and "king" not in dict(wv.nearest("king"))
    assert wv.similarity("king", "king") == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(wv["apple"], vectors[4].astype("float32"))
    with pytest.raises(ValueError, match="one row per word"):
        w2v.WordVectors(words, vectors[:3])


def _structured_keyed_vectors():
    """Vectors for every word of the analogy and similarity sets, with a shared offset per
    analogy section so that a fair share of analogies are right (and some wrong)."""
    gensim = pytest.importorskip("gensim")
    from course import datasets

    analogies = datasets.load("analogies-en", split="test")
    ws = datasets.load("wordsim353-en", split="test")
    rng = np.random.default_rng(0)
    words = sorted({w.lower() for key in "abcd" for w in analogies[key]}
                   | {w.lower() for w in ws["word1"] + ws["word2"]})
    words = words[::2]  # leave some words out, so coverage is partial
    vectors = {w: rng.normal(size=32) for w in words}
    offsets = {s: rng.normal(size=32) * 2 for s in set(analogies["section"])}
    for a, b, s in zip(analogies["a"], analogies["b"], analogies["section"], strict=True):
        a, b = a.lower(), b.lower()
        if a in vectors and b in vectors and rng.random() < 0.5:
            vectors[b] = vectors[a] + offsets[s] + rng.normal(size=32) * 0.3
    kv = gensim.models.KeyedVectors(32)
    kv.add_vectors(words, np.stack([vectors[w] for w in words]).astype("float32"))
    return kv, analogies, ws


def test_evaluation_matches_gensim_on_the_real_sets():
    from bert_tf.data.corpora import package_file

    kv, analogies, ws = _structured_keyed_vectors()
    ours = w2v.WordVectors(kv.index_to_key, kv.vectors)
    result = ours.evaluate_analogies(analogies["a"], analogies["b"], analogies["c"],
                                     analogies["d"], analogies["section"])
    path = package_file("gensim", "test", "test_data", "questions-words.txt")
    _score, sections = kv.evaluate_word_analogies(path)
    total = sections[-1]
    assert result["correct"] == len(total["correct"])
    assert result["evaluated"] == len(total["correct"]) + len(total["incorrect"])
    assert 0.05 < result["accuracy"] < 0.95 and result["total"] == 19544
    assert result["semantic_evaluated"] + result["syntactic_evaluated"] == result["evaluated"]

    sim = ours.evaluate_similarity(ws["word1"], ws["word2"], ws["score"])
    _pearson, spearman, oov = kv.evaluate_word_pairs(
        package_file("gensim", "test", "test_data", "wordsim353.tsv"))
    assert sim["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
    assert sim["evaluated"] == round(353 * (1 - oov / 100))
