"""Word-vector evaluation sets shipped in gensim's test data: the word2vec analogies
(Mikolov et al. 2013), WordSim-353 and SimLex-999. They are test sets only."""

from __future__ import annotations

from bert_tf.errors import DataError

from ._core import Entry, register, source_file


def _gensim_file(filename: str, dataset: str):
    def sources() -> list[str]:
        return [source_file("gensim", "test", "test_data", filename, dataset=dataset)]

    return sources


def _build_analogies(paths) -> dict:
    rows = {"a": [], "b": [], "c": [], "d": [], "section": []}
    section = None
    with open(paths[0], encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                section = line[1:].strip()
                continue
            words = line.split()
            if len(words) != 4 or section is None:
                raise DataError(f"{paths[0]}:{lineno}: expected 4 words after a ': section'")
            for key, word in zip("abcd", words, strict=True):
                rows[key].append(word)
            rows["section"].append(section)
    sections = {}
    for s in rows["section"]:
        sections[s] = sections.get(s, 0) + 1
    return {"splits": {"test": rows}, "stats": {"sections": sections}}


def _build_similarity(paths) -> dict:
    rows = {"word1": [], "word2": [], "score": []}
    with open(paths[0], encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 3:
                raise DataError(f"{paths[0]}:{lineno}: expected 'word1<TAB>word2<TAB>score'")
            rows["word1"].append(parts[0])
            rows["word2"].append(parts[1])
            rows["score"].append(float(parts[2]))
    scores = rows["score"]
    return {"splits": {"test": rows}, "stats": {"min_score": min(scores), "max_score": max(scores)}}


register(
    Entry(
        name="analogies-en",
        kind="word-eval",
        language="en",
        package="gensim",
        source="gensim/test/test_data/questions-words.txt",
        licence="Apache-2.0 (word2vec project test set)",
        unit="analogy",
        sizes={"test": 19544},
        description="word2vec analogy questions 'a is to b as c is to d' (Athens Greece Baghdad "
        "Iraq) in 14 sections: 5 semantic, 9 syntactic (gram*). Fields a, b, c, d, section.",
        sources=_gensim_file("questions-words.txt", "analogies-en"),
        build=_build_analogies,
        card="Cased as in the file (capitals for names); lowercase both sides if your "
        "vocabulary is uncased. Usual score: accuracy of argmax(b - a + c) == d over words in "
        "the vocabulary, excluding a, b, c.",
    )
)

register(
    Entry(
        name="wordsim353-en",
        kind="word-eval",
        language="en",
        package="gensim",
        source="gensim/test/test_data/wordsim353.tsv",
        licence="WordSimilarity-353 (Finkelstein et al. 2002; free for research)",
        unit="pair",
        sizes={"test": 353},
        description="353 word pairs with human relatedness scores 0-10 (tiger/cat 7.35). "
        "Fields word1, word2, score.",
        sources=_gensim_file("wordsim353.tsv", "wordsim353-en"),
        build=_build_similarity,
        card="Scores mix similarity and relatedness (cup/coffee is high). Usual score: "
        "Spearman correlation between cosine similarity and the human score.",
    )
)

register(
    Entry(
        name="simlex999-en",
        kind="word-eval",
        language="en",
        package="gensim",
        source="gensim/test/test_data/simlex999.txt",
        licence="SimLex-999 (Hill et al. 2015; free for research)",
        unit="pair",
        sizes={"test": 999},
        description="999 word pairs with human *similarity* scores 0-10 (relatedness alone "
        "scores low: old/new 1.58). Fields word1, word2, score.",
        sources=_gensim_file("simlex999.txt", "simlex999-en"),
        build=_build_similarity,
        card="Harder than WordSim-353 for distributional vectors, which conflate similarity "
        "with relatedness. Usual score: Spearman correlation with the human score.",
    )
)
