"""A seller's words made comparable: normalised, split into clauses, lemmatised.

Japanese goes through Janome (a morphological analyser with its own
dictionary), so 届かない, 届きません and 届いてない all carry the lemma 届く,
and a clause knows whether it is negated. Full-width and half-width forms are
folded (NFKC), hiragana is folded to katakana (ろぐいん = ログイン), and case is
ignored. English is split on its own punctuation and negations.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from janome.tokenizer import Token, Tokenizer

# Grammatical negation: ない (届かない), ぬ/ん (できません), ず (入れず).
_NEGATIONS = {"ない", "ぬ", "ん", "ず", "ナイ", "ヌ", "ン", "ズ"}
# Conjunctive particles that join two clauses of opposite sense: が, けど, のに. Not ても:
# 「消しても駄目」 is one thought.
_CLAUSE_BREAKS = {"ガ", "ケド", "ケレド", "ケレドモ", "ノニ", "シ"}
_SENTENCE = re.compile(r"[。．.!?！？\n;；]+|\s+but\s+|\s+however,?\s+|\s+though\s+", re.IGNORECASE)
_ENGLISH_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|cant|won't|doesn't|didn't|don't|isn't|wasn't|couldn't|unable)\b"
)
# Japanese negative verbs that carry no ない: ダメ (it fails) is a concept, not a negation.
_NEGATIVE_VERBS = {"無理"}
# Nouns whose negation says all is well: 問題なく (without a problem) is not a failure.
_TROUBLE_NOUNS = {"問題", "支障", "異常", "エラー", "不具合", "差し支え"}


def fold(text: str) -> str:
    """NFKC, lower case, hiragana as katakana, apostrophes straight, spaces single."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    text = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Clause:
    """One clause of what the seller wrote: its folded text, the lemmas in it, and whether it is negated."""

    original: str
    text: str
    lemmas: frozenset[str]
    negated: bool


@cache
def _tokenizer() -> Tokenizer:
    return Tokenizer()


def _tokens(text: str) -> Iterator[Token]:
    for token in _tokenizer().tokenize(text):
        if isinstance(token, Token):  # str only in the split-only ("wakati") mode
            yield token


def _japanese(text: str) -> bool:
    return re.search(r"[\u3040-\u30ff\u3400-\u9fff]", text) is not None


def _join_lines(text: str) -> str:
    """Lines wrapped inside a sentence joined again: without a space between Japanese, with one otherwise.

    A line that ends a sentence (。!?) or a paragraph (an empty line after it) still ends it.
    """
    lines = text.split("\n")
    joined = lines[0]
    for line in lines[1:]:
        if not line.strip() or not joined.strip() or joined.rstrip()[-1] in "。．.!?！？":
            joined += "\n" + line
        elif _japanese(joined.rstrip()[-1]) and _japanese(line.lstrip()[:1]):
            joined = joined.rstrip() + line.lstrip()
        else:
            joined = joined.rstrip() + " " + line.lstrip()
    return joined


def clauses(text: str) -> list[Clause]:
    """The clauses of ``text``, in order."""
    found: list[Clause] = []
    for sentence in _SENTENCE.split(_join_lines(unicodedata.normalize("NFKC", text))):
        if not sentence.strip():
            continue
        if not _japanese(sentence):
            folded = fold(sentence)
            words = frozenset(re.findall(r"[a-z0-9']+", folded))
            found.append(Clause(sentence.strip(), folded, words, _ENGLISH_NEGATION.search(folded) is not None))
            continue
        found += _japanese_clauses(sentence)
    return found


def _japanese_clauses(sentence: str) -> list[Clause]:
    result: list[Clause] = []
    surface: list[str] = []
    matchable: list[str] = []
    lemmas: set[str] = set()
    negated = False
    previous = before = previous_pos = ""

    def close() -> None:
        nonlocal surface, matchable, lemmas, negated
        original = "".join(surface).strip().lstrip("、，,").strip()
        if original:
            result.append(Clause(original, fold("".join(matchable)), frozenset(lemmas), negated))
        surface, matchable, lemmas, negated = [], [], set(), False

    for token in _tokens(sentence):
        pos = token.part_of_speech.split(",")
        base = token.base_form if token.base_form != "*" else token.surface
        surface.append(token.surface)
        if base == "入れる" and previous == "を":
            # 「パスワードを入れた」 is typing it (入力), not getting in (入れた = could enter).
            matchable.append("入力")
            lemmas.add(fold("入力"))
        else:
            matchable.append(token.surface)
            lemmas.add(fold(base))
        # 問題ない, 申し訳ない, 間違いない: one adjective (the dictionary's ナイ形容詞語幹), not a negation.
        adjective = previous_pos == "ナイ形容詞語幹"
        if ((pos[0] == "助動詞" and base in _NEGATIONS) or base in _NEGATIVE_VERBS) and not adjective:
            negated = True
        if pos[0] == "形容詞" and base == "ない" and not ({previous, before} & _TROUBLE_NOUNS):
            negated = True  # 入れない is 助動詞; コードがない is 形容詞, 問題ない is no negation
        before, previous, previous_pos = previous, token.surface, pos[1]
        if pos[0] == "助詞" and pos[1] == "接続助詞" and fold(token.surface) in _CLAUSE_BREAKS:
            close()
    close()
    return result


def reading(text: str) -> str:
    """The text as it sounds, in katakana (見つかりません and みつかりません read alike); ASCII folded."""
    parts = []
    for token in _tokens(unicodedata.normalize("NFKC", text)):
        said = token.reading if token.reading not in ("*", "") else token.surface
        parts.append(fold(said))
    return "".join(parts)
