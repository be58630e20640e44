"""The chain search on its own, against networkx on many random graphs, and on hand-worked cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain.errors import BadArgument
from directory.jobs.paths import PathOrder, Referral, best_chains
from tests import reference_paths

pytestmark = pytest.mark.pure

NODES = [f"n{i}" for i in range(7)]
HOURS = st.sampled_from([None, 1.0, 6.0, 24.0, 72.0])
TRUST = st.sampled_from([None, 0.0, 0.3, 0.5, 0.9, 1.0])


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[tuple[str, str, float | None, float | None]], dict[str, float | None]]:
    # a pair may come twice: two referral links between the same organisations under different keys
    pairs = draw(st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=20))
    edges = [(a, b, draw(HOURS), draw(TRUST)) for a, b in pairs]
    providers = draw(st.dictionaries(st.sampled_from(NODES), HOURS, max_size=4))
    return edges, providers


def test_a_referral_trusted_not_at_all_is_not_walked() -> None:
    """Trust 0 is its recorder saying the referral is not to be relied on: a chain of trusted
    referrals never goes through it, even where it would be the only or the shortest one."""
    links = [hop("a", "p", 1.0, 0.0), hop("a", "b", 24.0, 0.5), hop("b", "p", 24.0, 0.5), hop("a", "c", 1.0, 0.0)]
    for order in PathOrder:
        found = best_chains("a", links, {"p": 1.0, "c": 1.0}, order, 5, 3)
        assert [c.organisations for c in found] == [("a", "b", "p")], order


@settings(max_examples=400, deadline=None)
@given(graphs(), st.sampled_from(NODES), st.sampled_from(list(PathOrder)), st.integers(1, 6), st.integers(0, 5))
def test_agrees_with_networkx(graph, source, order, k, max_hops) -> None:
    edges, providers = graph
    ours = best_chains(source, [Referral(a, b, h, t) for a, b, h, t in edges], providers, order, k, max_hops)
    assert [c.organisations for c in ours] == reference_paths.best_chains(source, edges, providers, order.value, k,
                                                                          max_hops)
    for chain in ours:
        assert len(set(chain.organisations)) == len(chain.organisations)  # loop-free
        assert chain.hops <= max_hops and chain.provider in providers


def hop(a: str, b: str, hours: float | None = None, trust: float | None = None) -> Referral:
    return Referral(a, b, hours, trust)


def test_each_order_worked_by_hand() -> None:
    # a -> p directly is slow and distrusted; a -> b -> p is quick and trusted; a -> c -> d -> p in between.
    links = [hop("a", "p", 72, 0.3), hop("a", "b", 1, 0.9), hop("b", "p", 1, 0.9),
             hop("a", "c", 6, 0.8), hop("c", "d", 6, 0.8), hop("d", "p", 6, 0.8)]
    providers = {"p": 24.0}
    by_hops = best_chains("a", links, providers, PathOrder.FEWEST_HOPS, 3, 4)
    assert [c.organisations for c in by_hops] == [("a", "p"), ("a", "b", "p"), ("a", "c", "d", "p")]
    by_time = best_chains("a", links, providers, PathOrder.FASTEST_RESPONSE, 3, 4)
    # 1+1+24 = 26 h; 6+6+6+24 = 42 h; 72+24 = 96 h
    assert [(c.organisations, c.response_hours) for c in by_time] == [
        (("a", "b", "p"), 26.0), (("a", "c", "d", "p"), 42.0), (("a", "p"), 96.0)]
    by_trust = best_chains("a", links, providers, PathOrder.HIGHEST_TRUST, 3, 4)
    # 0.81; 0.512; 0.3
    assert [c.organisations for c in by_trust] == [("a", "b", "p"), ("a", "c", "d", "p"), ("a", "p")]
    assert by_trust[0].trust == pytest.approx(0.81)


def test_hop_limit_cuts_longer_chains() -> None:
    links = [hop("a", "b"), hop("b", "c"), hop("c", "p")]
    assert best_chains("a", links, {"p": None}, PathOrder.FEWEST_HOPS, 3, 2) == []
    assert [c.hops for c in best_chains("a", links, {"p": None}, PathOrder.FEWEST_HOPS, 3, 3)] == [3]


def test_source_that_provides_comes_first_with_no_hops() -> None:
    chains = best_chains("a", [hop("a", "p", 1, 1.0)], {"a": 48.0, "p": 1.0}, PathOrder.FEWEST_HOPS, 2, 3)
    assert [c.organisations for c in chains] == [("a",), ("a", "p")]
    assert chains[0].hops == 0 and chains[0].referrals == ()


def test_cycles_are_never_walked() -> None:
    links = [hop("a", "b"), hop("b", "a"), hop("b", "c"), hop("c", "b"), hop("c", "p")]
    chains = best_chains("a", links, {"p": None}, PathOrder.FEWEST_HOPS, 10, 6)
    assert [c.organisations for c in chains] == [("a", "b", "c", "p")]


def test_ties_are_broken_by_ids() -> None:
    links = [hop("a", "y"), hop("a", "x"), hop("x", "p"), hop("y", "p")]
    chains = best_chains("a", links, {"p": None}, PathOrder.FEWEST_HOPS, 2, 3)
    assert [c.organisations for c in chains] == [("a", "x", "p"), ("a", "y", "p")]


def test_no_path_and_bad_arguments() -> None:
    assert best_chains("a", [hop("p", "a")], {"p": None}, PathOrder.FEWEST_HOPS, 3, 4) == []
    with pytest.raises(BadArgument, match="k"):
        best_chains("a", [], {}, PathOrder.FEWEST_HOPS, 0, 4)
    with pytest.raises(BadArgument, match="maxHops"):
        best_chains("a", [], {}, PathOrder.FEWEST_HOPS, 1, 7)


def test_two_links_between_the_same_organisations_make_one_chain_the_cheaper() -> None:
    """A second referral link a -> b (kept under another key) neither repeats a chain nor pushes a
    different one out of the k asked: a -> c -> p comes second."""
    links = [hop("a", "b", 1, 0.9), hop("a", "b", 48, 0.3), hop("b", "p", 1, 0.9),
             hop("a", "c", 6, 0.8), hop("c", "p", 6, 0.8)]
    for order in PathOrder:
        found = best_chains("a", links, {"p": 24.0}, order, 2, 3)
        assert [c.organisations for c in found] == [("a", "b", "p"), ("a", "c", "p")]
        assert found[0].referrals[0].response_hours == 1  # the cheaper of the two
