"""``--shard I/N``: every item in exactly one shard, decided by its name alone, 1-based, bad values refused."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe.errors import UsageError
from probe.fleet import Shard, parse_shard, shard_of
from probe.scenarios import all_scenarios

from .conftest import run_cli

names = st.lists(st.text(min_size=1, max_size=30), unique=True, max_size=60)


@settings(max_examples=200, deadline=None)
@given(names=names, total=st.integers(min_value=1, max_value=12))
def test_the_shards_partition_the_items_exactly(names: list[str], total: int) -> None:
    shards = [Shard(i, total).select(names, str) for i in range(1, total + 1)]
    flat = [name for shard in shards for name in shard]
    assert sorted(flat) == sorted(names)  # every item once: none lost, none twice
    assert len(flat) == len(set(flat))


@settings(max_examples=200, deadline=None)
@given(names=names, more=names, total=st.integers(min_value=1, max_value=12), seed=st.integers())
def test_an_items_shard_depends_on_its_name_only(names: list[str], more: list[str], total: int, seed: int) -> None:
    """Reordering the items or adding others moves no item to another shard (CI runs stay comparable)."""
    shuffled = list(names)
    random.Random(seed).shuffle(shuffled)
    grown = shuffled + [m for m in more if m not in names]
    for index in range(1, total + 1):
        shard = Shard(index, total)
        assert set(shard.select(names, str)) == set(shard.select(grown, str)) & set(names)


def test_shard_numbers_are_stable_across_runs() -> None:
    # Fixed by the hash of the name: the same in every process and on every machine.
    assert [shard_of(n, 4) for n in ("ok", "cookies", "shop-001", "さくら雑貨店")] == [
        shard_of(n, 4) for n in ("ok", "cookies", "shop-001", "さくら雑貨店")
    ]
    assert shard_of("anything", 1) == 1
    assert {shard_of(f"shop-{i:03d}", 4) for i in range(100)} == {1, 2, 3, 4}


def test_the_bundled_scenarios_split_over_shards_exactly() -> None:
    scenarios = all_scenarios()
    for total in (2, 3, 5):
        held = [s.name for i in range(1, total + 1) for s in Shard(i, total).select(scenarios, lambda s: s.name)]
        assert sorted(held) == sorted(s.name for s in scenarios)
    # Shards of a suite are of similar size (no shard holds most of it).
    sizes = [len(Shard(i, 2).select(scenarios, lambda s: s.name)) for i in (1, 2)]
    assert min(sizes) >= len(scenarios) // 4


@pytest.mark.parametrize(("text", "shard"), [("1/1", Shard(1, 1)), ("2/4", Shard(2, 4)), (" 3 / 3 ", Shard(3, 3))])
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard
    assert str(shard) == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0/4", "I must be from 1 to 4"),
        ("5/4", "I must be from 1 to 4"),
        ("1/0", "N must be 1 or more"),
        ("1", "expected I/N"),
        ("a/b", "expected I/N"),
        ("-1/3", "expected I/N"),
        ("1/2/3", "expected I/N"),
        ("", "expected I/N"),
    ],
)
def test_bad_shards_are_refused(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        parse_shard(text)


@pytest.mark.parametrize("argv", [["run", "--all", "--shard", "3/2"], ["fleet", "f.yaml", "--shard", "x"]])
def test_a_bad_shard_is_one_line_and_exit_2(argv: list[str]) -> None:
    done = run_cli(*argv, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "--shard" in done.stderr
    assert "Traceback" not in done.stderr
