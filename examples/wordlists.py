"""Debian's word lists (packages wamerican, wfrench, wngerman, witalian, wspanish) as words
by language, and words as sequences of character indices, for the text examples.

``scripts/ensure-data.sh`` (run by ``make data`` and CI) installs the lists into /usr/share/dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

DICTIONARY = Path("/usr/share/dict")
LISTS = {"English": "american-english", "French": "french", "German": "ngerman", "Italian": "italian", "Spanish": "spanish"}
PADDING = "\x00"


def load_words(languages: Sequence[str] = tuple(LISTS), min_length: int = 3, max_length: int = 12) -> dict[str, list[str]]:
    """Lower-cased alphabetic words of each language (accents kept), without the words that
    two languages share (a word's language must be decidable). Sorted, so runs are repeatable."""
    words: dict[str, set[str]] = {}
    for language in languages:
        path = DICTIONARY / LISTS[language]
        if not path.exists():
            raise SystemExit(f"{path} is missing: install Debian's word lists (scripts/ensure-data.sh, or apt-get install wamerican wfrench wngerman witalian wspanish).")
        text = path.read_text(encoding="utf-8", errors="replace")
        words[language] = {w.lower() for w in text.split() if w.isalpha() and min_length <= len(w) <= max_length}
    seen: dict[str, int] = {}
    for found in words.values():
        for w in found:
            seen[w] = seen.get(w, 0) + 1
    return {language: sorted(w for w in found if seen[w] == 1) for language, found in words.items()}


def alphabet(words: Sequence[str]) -> list[str]:
    """Every character of ``words``, with the padding character first (index 0)."""
    return [PADDING, *sorted({c for w in words for c in w})]


def indices(words: Sequence[str], characters: Sequence[str]) -> list[np.ndarray]:
    """Each word as its own sequence of character indices (of the word's length: NetTrain and
    net(x) take sequences of different lengths as they are)."""
    index = {c: i for i, c in enumerate(characters)}
    return [np.array([index[c] for c in word], np.int64) for word in words]
