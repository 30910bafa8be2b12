"""word2vec (Mikolov et al., 2013): skip-gram and CBOW with negative sampling.

Everything a learner needs to pretrain word vectors from raw text, in four parts:

1. **Vocabulary** — `Vocabulary.build(sentences, min_count=5)`: words seen at least
   `min_count` times, most frequent first.
2. **Training data** (NumPy, vectorised over the whole corpus) — each epoch draws
   - *subsampling* of frequent words: a word of corpus frequency f is kept with probability
     ``(sqrt(f / t) + 1) * t / f`` (the formula of Mikolov's word2vec.c and gensim; the paper
     writes the discard probability as ``1 - sqrt(t / f)``, which is the same idea);
   - a *dynamic window*: for each position an effective window b uniform in 1..window, so
     near words count more often than far ones;
   - *negative samples* from the unigram distribution raised to the 3/4 power.
   `skipgram_examples` pairs each word with each context word; `cbow_examples` pairs each
   word with its whole (padded, masked) context.
3. **The model** — `Word2Vec(vocab_size, dim, mode="skipgram"|"cbow")`, a Keras model with
   two embedding tables: ``word_embeddings`` (the vectors you keep; word2vec.c's syn0) and
   ``context_embeddings`` (syn1neg). Its output is one logit per candidate,
   ``dot(h, context_embeddings[candidate])``, where h is the input word's vector (skip-gram)
   or the mean of the context words' vectors (CBOW). Candidate 0 is the true word, the others
   are negatives; the loss is the sigmoid (binary) cross-entropy, label 1 for candidate 0.
   `fit_word2vec` trains it with Keras ``fit`` and the course optimizer factory, on fresh
   samples every epoch.
4. **Evaluation** — `WordVectors`: nearest neighbours, analogies by 3CosAdd (the word2vec
   and gensim rule), and Spearman correlation with human similarity judgements.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import keras
import numpy as np
from keras import ops

MODES = ("skipgram", "cbow")

_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lowercased runs of letters and digits: ``"Paris's 2 parks."`` → ``["paris", "s", "2",
    "parks"]``. Enough for English word vectors; Chinese text needs a word segmenter."""
    return _WORD.findall(text.lower())


# ------------------------------------------------------------------------------------------
# 1. Vocabulary
# ------------------------------------------------------------------------------------------


class Vocabulary:
    """Words and their corpus counts, most frequent first (ties alphabetical), ids 0..n-1."""

    def __init__(self, words: Sequence[str], counts: Sequence[int]):
        if len(words) != len(counts):
            raise ValueError(f"{len(words)} words but {len(counts)} counts")
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("vocabulary words must be unique")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 5,
              max_size: int | None = None) -> Vocabulary:
        """Count words over tokenised sentences; keep those seen at least `min_count` times
        (and at most the `max_size` most frequent)."""
        counter = Counter(w for sentence in sentences for w in sentence)
        items = sorted(((w, c) for w, c in counter.items() if c >= min_count),
                       key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            items = items[:max_size]
        if not items:
            raise ValueError(f"no word occurs at least min_count={min_count} times")
        return cls([w for w, _ in items], [c for _, c in items])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, sentences: Iterable[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The corpus as two flat int32 arrays: word ids (out-of-vocabulary words dropped, as
        word2vec does) and the sentence number of each id."""
        ids, sentence_of = [], []
        for n, sentence in enumerate(sentences):
            known = [self.index[w] for w in sentence if w in self.index]
            ids.extend(known)
            sentence_of.extend([n] * len(known))
        return np.asarray(ids, dtype=np.int32), np.asarray(sentence_of, dtype=np.int32)


def keep_probabilities(counts, sample: float = 1e-3) -> np.ndarray:
    """Probability of keeping each word when subsampling frequent words (word2vec.c, gensim):
    ``min(1, (sqrt(f / sample) + 1) * sample / f)`` with f the word's share of the corpus.
    ``sample=0`` keeps everything."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    f = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(f / sample) + 1.0) * sample / f)


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """Negative-sampling distribution: unigram counts to the power 3/4, normalised. The power
    flattens the distribution: rare words are drawn more often than their frequency."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


# ------------------------------------------------------------------------------------------
# 2. Training data
# ------------------------------------------------------------------------------------------


def subsample(ids: np.ndarray, sentence_of: np.ndarray, keep: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drop each occurrence of word w with probability 1 - keep[w]."""
    kept = rng.random(len(ids)) < keep[ids]
    return ids[kept], sentence_of[kept]


def _effective_windows(n: int, window: int, rng, dynamic: bool) -> np.ndarray:
    if dynamic:
        return rng.integers(1, window + 1, size=n)  # word2vec.c: window - (rand % window)
    return np.full(n, window)


def skipgram_pairs(ids: np.ndarray, sentence_of: np.ndarray, window: int,
                   rng: np.random.Generator, dynamic_window: bool = True):
    """All (word, context word) pairs within each position's window and sentence.

    Returns (words, contexts), int32 arrays, ordered by distance then position (shuffle them).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    reach = _effective_windows(len(ids), window, rng, dynamic_window)
    words, contexts = [], []
    for d in range(1, window + 1):
        left = np.arange(len(ids) - d)
        right = left + d
        same = sentence_of[left] == sentence_of[right]
        fwd = left[same & (reach[left] >= d)]  # word at left sees its right neighbour
        words.append(ids[fwd])
        contexts.append(ids[fwd + d])
        bwd = right[same & (reach[right] >= d)]  # word at right sees its left neighbour
        words.append(ids[bwd])
        contexts.append(ids[bwd - d])
    return np.concatenate(words).astype(np.int32), np.concatenate(contexts).astype(np.int32)


def cbow_windows(ids: np.ndarray, sentence_of: np.ndarray, window: int,
                 rng: np.random.Generator, dynamic_window: bool = True):
    """For each position with at least one context word: (centre, context, mask).

    `context` is (n, 2 * window): the words at offsets -window..-1, 1..window (0 where there
    is none) and `mask` marks the real ones (inside the sentence and the effective window).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    n = len(ids)
    reach = _effective_windows(n, window, rng, dynamic_window)
    offsets = np.array([o for o in range(-window, window + 1) if o != 0])
    positions = np.arange(n)[:, None] + offsets[None, :]
    inside = (positions >= 0) & (positions < n)
    safe = np.clip(positions, 0, max(n - 1, 0))
    mask = (inside & (sentence_of[safe] == sentence_of[:, None])
            & (np.abs(offsets)[None, :] <= reach[:, None]))
    context = np.where(mask, ids[safe], 0).astype(np.int32)
    has_context = mask.any(axis=1)
    return ids[has_context], context[has_context], mask[has_context].astype(np.float32)


def draw_negatives(noise: np.ndarray, shape, rng: np.random.Generator) -> np.ndarray:
    """Word ids drawn from the noise distribution (inverse CDF, vectorised)."""
    cdf = np.cumsum(noise)
    cdf /= cdf[-1]
    draws = np.searchsorted(cdf, rng.random(shape), side="right")
    return np.minimum(draws, len(noise) - 1).astype(np.int32)


def _with_negatives(true_ids, noise, negatives, rng):
    candidates = np.empty((len(true_ids), 1 + negatives), dtype=np.int32)
    candidates[:, 0] = true_ids
    candidates[:, 1:] = draw_negatives(noise, (len(true_ids), negatives), rng)
    labels = np.zeros(candidates.shape, dtype=np.float32)
    labels[:, 0] = 1.0
    return candidates, labels


def skipgram_examples(ids, sentence_of, vocab: Vocabulary, window: int = 5,
                      negatives: int = 5, sample: float = 1e-3, seed: int = 0,
                      dynamic_window: bool = True):
    """One epoch of skip-gram training data, shuffled: ``({"word": (n,), "candidates":
    (n, 1 + negatives)}, labels (n, 1 + negatives))``. Candidate 0 is the true context
    word; the rest are negatives."""
    rng = np.random.default_rng(seed)
    ids, sentence_of = subsample(ids, sentence_of, keep_probabilities(vocab.counts, sample), rng)
    words, contexts = skipgram_pairs(ids, sentence_of, window, rng, dynamic_window)
    order = rng.permutation(len(words))
    candidates, labels = _with_negatives(contexts[order], noise_distribution(vocab.counts),
                                         negatives, rng)
    return {"word": words[order], "candidates": candidates}, labels


def cbow_examples(ids, sentence_of, vocab: Vocabulary, window: int = 5, negatives: int = 5,
                  sample: float = 1e-3, seed: int = 0, dynamic_window: bool = True):
    """One epoch of CBOW training data, shuffled: ``({"context": (n, 2w), "context_mask":
    (n, 2w), "candidates": (n, 1 + negatives)}, labels)``. Candidate 0 is the centre word."""
    rng = np.random.default_rng(seed)
    ids, sentence_of = subsample(ids, sentence_of, keep_probabilities(vocab.counts, sample), rng)
    centres, context, mask = cbow_windows(ids, sentence_of, window, rng, dynamic_window)
    order = rng.permutation(len(centres))
    candidates, labels = _with_negatives(centres[order], noise_distribution(vocab.counts),
                                         negatives, rng)
    x = {"context": context[order], "context_mask": mask[order], "candidates": candidates}
    return x, labels


# ------------------------------------------------------------------------------------------
# 3. The model
# ------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="bert_tf")
class Word2Vec(keras.Model):
    """Skip-gram or CBOW with negative sampling: logits ``(batch, 1 + negatives)``.

    Inputs (dict): skip-gram ``{"word": (b,), "candidates": (b, k)}``; CBOW ``{"context":
    (b, c), "context_mask": (b, c), "candidates": (b, k)}``. Initialised like word2vec.c:
    word vectors uniform in ±0.5/dim, context vectors zero.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 100, mode: str = "skipgram",
                 **kwargs):
        kwargs.setdefault("name", f"word2vec_{mode}")
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.mode = mode
        scale = 0.5 / self.embedding_dim
        self.word_embeddings = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, dtype=self.dtype_policy,
            embeddings_initializer=keras.initializers.RandomUniform(-scale, scale),
            name="word_embeddings")
        self.context_embeddings = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, dtype=self.dtype_policy,
            embeddings_initializer="zeros", name="context_embeddings")
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        self.word_embeddings.build()
        self.context_embeddings.build()
        self.built = True

    def encode(self, inputs):
        """h: the input word's vector (skip-gram) or the mean of the context vectors (CBOW)."""
        if self.mode == "skipgram":
            return self.word_embeddings(inputs["word"])
        vectors = self.word_embeddings(inputs["context"])  # (b, c, d)
        mask = ops.cast(inputs["context_mask"], vectors.dtype)[..., None]
        total = ops.sum(vectors * mask, axis=1)
        return total / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def call(self, inputs):
        h = self.encode(inputs)  # (b, d)
        candidates = self.context_embeddings(inputs["candidates"])  # (b, k, d)
        return ops.einsum("bd,bkd->bk", h, candidates)

    @property
    def vectors(self) -> np.ndarray:
        """The word vectors (vocab_size, dim) as NumPy: what word2vec outputs."""
        return ops.convert_to_numpy(self.word_embeddings.embeddings)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "mode": self.mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def compile_word2vec(model: Word2Vec, total_steps: int, learning_rate: float = 5e-3) -> None:
    """Compile with the course optimizer (`bert_tf.train.optimization.create_optimizer`:
    Adam with a linearly decaying learning rate, as word2vec decays its rate; no weight decay,
    no clipping) and the sigmoid cross-entropy over candidates."""
    from bert_tf.train.optimization import create_optimizer

    model.compile(
        optimizer=create_optimizer(model, learning_rate=learning_rate, total_steps=total_steps,
                                   weight_decay=0.0, clipnorm=None),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )


def fit_word2vec(model: Word2Vec, ids: np.ndarray, sentence_of: np.ndarray, vocab: Vocabulary,
                 epochs: int = 5, batch_size: int = 2048, window: int = 5, negatives: int = 5,
                 sample: float = 1e-3, learning_rate: float = 5e-3, seed: int = 0,
                 verbose: int = 0) -> list[float]:
    """Train `model` with Keras ``fit``, drawing fresh subsampling, windows and negatives each
    epoch (as word2vec does). Returns the mean training loss of each epoch."""
    make = skipgram_examples if model.mode == "skipgram" else cbow_examples
    data = [make(ids, sentence_of, vocab, window, negatives, sample, seed=seed)]
    steps_per_epoch = -(-len(data[0][1]) // batch_size)
    compile_word2vec(model, total_steps=epochs * steps_per_epoch, learning_rate=learning_rate)
    losses = []
    for epoch in range(epochs):
        x, y = data.pop() if data else make(ids, sentence_of, vocab, window, negatives, sample,
                                             seed=seed + epoch)
        history = model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False,
                            verbose=verbose)
        losses.append(float(history.history["loss"][0]))
    return losses


# ------------------------------------------------------------------------------------------
# 4. Evaluation
# ------------------------------------------------------------------------------------------


class WordVectors:
    """Word vectors with lookups and the standard evaluations (any source: this module's
    model, gensim's ``wv.index_to_key`` / ``wv.vectors``, a learner's own)."""

    def __init__(self, words: Sequence[str], vectors):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(words) != len(vectors):
            raise ValueError(f"need one row per word: {len(words)} words, vectors "
                             f"{vectors.shape}")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.unit = vectors / np.maximum(norms, 1e-12)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(self.unit[self.index[a]] @ self.unit[self.index[b]])

    def nearest(self, query, k: int = 5, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The k words with the highest cosine similarity to a word (itself excluded) or to a
        vector."""
        skip = set(exclude)
        if isinstance(query, str):
            skip.add(query)
            query = self.unit[self.index[query]]
        q = np.asarray(query, dtype=np.float32)
        scores = self.unit @ (q / max(np.linalg.norm(q), 1e-12))
        out = []
        for i in np.argsort(-scores, kind="stable"):
            if self.words[i] not in skip:
                out.append((self.words[i], float(scores[i])))
                if len(out) == k:
                    break
        return out

    def analogy(self, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
        """"a is to b as c is to ?" by 3CosAdd: the words nearest to unit(b) - unit(a) +
        unit(c), excluding a, b and c."""
        u = self.unit
        target = u[self.index[b]] - u[self.index[a]] + u[self.index[c]]
        return self.nearest(target, k, exclude=(a, b, c))

    def evaluate_analogies(self, a, b, c, d, sections=None, lowercase: bool = True,
                           batch_size: int = 1024) -> dict:
        """Accuracy of 3CosAdd on the questions whose four words are all in the vocabulary
        (the word2vec/gensim convention). Returns ``accuracy``, ``correct``, ``evaluated``,
        ``total`` and, when `sections` are given, ``semantic`` / ``syntactic`` accuracies
        (sections named ``gram*`` are syntactic)."""
        norm = (lambda w: w.lower()) if lowercase else (lambda w: w)
        rows, kept = [], []
        for i, words in enumerate(zip(a, b, c, d, strict=True)):
            words = [norm(w) for w in words]
            if all(w in self.index for w in words):
                rows.append([self.index[w] for w in words])
                kept.append(i)
        total = len(a)
        if not rows:
            return {"accuracy": 0.0, "correct": 0, "evaluated": 0, "total": total}
        q = np.asarray(rows)
        hits = np.zeros(len(q), dtype=bool)
        u = self.unit
        for start in range(0, len(q), batch_size):
            part = q[start:start + batch_size]
            target = u[part[:, 1]] - u[part[:, 0]] + u[part[:, 2]]
            scores = target @ u.T
            r = np.arange(len(part))
            for col in range(3):
                scores[r, part[:, col]] = -np.inf
            hits[start:start + batch_size] = scores.argmax(axis=1) == part[:, 3]
        result = {"accuracy": float(hits.mean()), "correct": int(hits.sum()),
                  "evaluated": len(q), "total": total}
        if sections is not None:
            syntactic = np.array([str(sections[i]).startswith("gram") for i in kept])
            for name, sel in (("semantic", ~syntactic), ("syntactic", syntactic)):
                result[name] = float(hits[sel].mean()) if sel.any() else float("nan")
                result[f"{name}_evaluated"] = int(sel.sum())
        return result

    def evaluate_similarity(self, word1, word2, scores, lowercase: bool = True) -> dict:
        """Spearman correlation between cosine similarity and human scores, on the pairs with
        both words in the vocabulary. Returns ``spearman``, ``evaluated``, ``total``."""
        from scipy.stats import spearmanr

        norm = (lambda w: w.lower()) if lowercase else (lambda w: w)
        model, human = [], []
        for w1, w2, score in zip(word1, word2, scores, strict=True):
            w1, w2 = norm(w1), norm(w2)
            if w1 in self.index and w2 in self.index:
                model.append(self.similarity(w1, w2))
                human.append(float(score))
        rho = float(spearmanr(model, human).statistic) if len(model) > 2 else float("nan")
        return {"spearman": rho, "evaluated": len(model), "total": len(scores)}
