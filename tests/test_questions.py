"""One vocabulary per question: GraphQL, the maps and the CLI spell each job's options as
`directory.jobs.questions` declares them, and text values are read the one way."""

from __future__ import annotations

import pytest

from directory.domain.errors import BadArgument
from directory.jobs import questions
from directory.jobs.gaps import GapQuestion
from directory.jobs.paths import PathOrder
from directory.jobs.referrals import Question
from maps.questions import FUNDING_MAP_ONLY, GAP_MAP_ONLY, KINDS
from schema import schema

pytestmark = pytest.mark.pure

GRAPHQL_ONLY = {"coverageGaps": {"first", "offset"}}  # paging the answer, not part of the question


@pytest.mark.parametrize("field", sorted(questions.QUESTIONS))
def test_graphql_arguments_are_the_declared_options(field: str) -> None:
    query = schema._schema.query_type
    assert query is not None
    arguments = set(query.fields[field].args)
    assert arguments - GRAPHQL_ONLY.get(field, set()) == set(questions.QUESTIONS[field].names)


def test_maps_take_the_declared_options_and_only_their_own_besides() -> None:
    assert KINDS["referrals"].filters == questions.REFERRALS.names
    assert KINDS["gaps"].filters == (*questions.GAPS.names, *GAP_MAP_ONLY)
    assert KINDS["funding"].filters == (*questions.GAPS.names, *FUNDING_MAP_ONLY)


def test_text_values_read_the_one_way() -> None:
    q: Question = questions.REFERRALS.ask({"from": "Organisation:test:a", "serviceType": "legal-aid",
                                           "country": "CO", "k": "2", "maxHops": "3", "order": "fastest_response"})
    assert (q.source, q.k, q.max_hops, q.order) == ("test:a", 2, 3, PathOrder.FASTEST_RESPONSE)
    assert questions.REFERRALS.ask({"serviceType": "x", "country": "CO", "order": "HIGHEST_TRUST"}).order \
        is PathOrder.HIGHEST_TRUST
    g: GapQuestion = questions.GAPS.ask({"codes": "KE, UG", "serviceTypes": ["legal-aid", "medical-care"]})
    assert (g.codes, g.service_types) == (["KE", "UG"], ["legal-aid", "medical-care"])
    for args, named in (({"country": "CO"}, "serviceType"), ({"serviceType": "x", "country": "CO", "k": "two"}, "k"),
                        ({"serviceType": "x", "country": "CO", "order": "quickest"}, "order"),
                        ({"serviceType": "x", "country": "CO", "colour": "red"}, "colour")):
        with pytest.raises(BadArgument) as refused:
            questions.REFERRALS.ask(args)
        assert refused.value.argument == named


def test_the_cli_flag_is_the_same_words() -> None:
    assert [o.flag for o in questions.REFERRALS.options] == [
        "--from", "--service-type", "--country", "--group", "--language", "--k", "--max-hops", "--order"]


def test_the_cli_job_verbs_take_exactly_the_declared_options() -> None:
    from directory.cli import parser

    verbs = {"referrals": questions.REFERRALS, "gaps": questions.GAPS, "partners": questions.PARTNERS}
    sub = next(a for a in parser()._actions if a.dest == "verb")
    for name, asking in verbs.items():
        flags = {f for action in sub.choices[name]._actions for f in action.option_strings}  # type: ignore[union-attr]
        assert {o.flag for o in asking.options} <= flags, name
        extra = flags - {o.flag for o in asking.options}
        assert extra <= {"-h", "--help", "--as", "--audience", "--csv", "--top"}, (name, extra)
