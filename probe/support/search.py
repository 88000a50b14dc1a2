"""`probe search`: the bundled scenarios ranked for a phrase, with the matching `probe reproduce` uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..scenarios import Scenario, all_scenarios
from .rank import _has, _Tally, lexicon, score_words
from .words import clauses

# A scenario's title sharing one idea (concept) with the phrase counts this much.
TITLE_WEIGHT = 1.0


@dataclass(frozen=True)
class Hit:
    scenario: str
    title: str
    score: float
    verdict: str | None
    why: tuple[str, ...]


def _concepts(text: str) -> set[str]:
    found = clauses(text)
    return {name for name in lexicon().concepts if any(_has(c, name) for c in found)}


def search(words: str, scenarios: Sequence[Scenario] | None = None, limit: int = 10) -> list[Hit]:
    """Scenarios for ``words``, best first: the causes the words point to, then the titles they share ideas with."""
    scenarios = list(scenarios) if scenarios is not None else all_scenarios()
    tally = _Tally()
    score_words(words, tally)
    lex = lexicon()
    by_scenario: dict[str, tuple[float, list[str]]] = {}
    for situation, score in tally.situations.items():
        spec = lex.situations[situation]
        if score > 0:
            by_scenario[spec.scenario] = (score, [spec.ja])
    wanted = _concepts(words)
    hits = []
    for scenario in scenarios:
        score, why = by_scenario.get(scenario.name, (0.0, []))
        shared = sorted(wanted & _concepts(f"{scenario.title}。{scenario.description}"))
        score += TITLE_WEIGHT * len(shared)
        if score <= 0:
            continue
        verdict = scenario.expect.verdict.value if scenario.expect else None
        hits.append(Hit(scenario.name, scenario.title, score, verdict, (*why, *shared)))
    hits.sort(key=lambda h: (-h.score, h.scenario))
    return hits[:limit]
