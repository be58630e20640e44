"""Who sees what through the API: each role, over real HTTP with real tokens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from directory.base.audit import read_all
from directory.base.config import Settings
from directory.store import Store
from tests.helpers import Api, load, org, service, shown_in_cell

pytestmark = pytest.mark.anyio

ALL = """{ organisations(first: 100) { totalCount edges { node {
  recordId visibility contactChannels location { latitude longitude precision }
  services { recordId capacity visibility }
  links(direction: INCOMING, types: [FUNDS]) { sourceId amount visibility } } } } }"""


async def seed(store: Store) -> None:
    await load(store, [
        org("a", **{"#geo+lat": "6.251234", "#geo+lon": "-75.563456", "#geo+precision": "locality",
                    "#adm1+code": "CO-ANT", "#channel+contact": "signal:+00 1"}),
        org("b", **{"#meta+visibility": "network"}),
        org("c", **{"#meta+visibility": "restricted"}),
        org("donor", **{"#org+type": "donor"}),
        org("quiet", **{"#org+type": "donor", "#meta+visibility": "network"}),
    ], [
        service("a-public", "a", **{"#capacity": "5", "#capacity+unit": "cases", "#capacity+date": "2026-10-01"}),
        service("a-restricted", "a", **{"#meta+visibility": "restricted"}),
        service("b-network", "b", **{"#meta+visibility": "network"}),
        service("c-public", "c"),
    ], [
        {"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "a", "#meta+id": "2026",
         "#meta+visibility": "public", "#value": "1000", "#currency": "EUR", "#date+year": "2026"},
        {"#rel+type": "FUNDS", "#org+id+source": "quiet", "#org+id+target": "a", "#meta+id": "2026",
         "#value": "9000", "#currency": "EUR", "#date+year": "2026"},  # restricted by default
    ])


async def _seen(api: Api, token: str | None) -> dict[str, dict[str, object]]:
    data = await api.data(ALL, token)
    nodes = {e["node"]["recordId"]: e["node"] for e in data["organisations"]["edges"]}
    assert data["organisations"]["totalCount"] == len(nodes)
    return nodes


async def test_each_role_sees_exactly_its_records_and_fields(store: Store, api: Api) -> None:
    await seed(store)
    _, member_a = await store.tokens.create("member", "test:a")
    _, member_b = await store.tokens.create("member", "test:b")
    _, steward = await store.tokens.create("steward", None)

    anonymous = await _seen(api, None)
    assert set(anonymous) == {"test:a", "test:donor"}
    a = anonymous["test:a"]
    assert a["contactChannels"] == [] and a["location"]["precision"] == "LOCALITY"
    assert shown_in_cell(a["location"]["latitude"], a["location"]["longitude"], 6.251234, -75.563456, 0.1, "CO")
    assert [(s["recordId"], s["capacity"]) for s in a["services"]] == [("test:a-public", None)]
    assert [(f["sourceId"], f["amount"]) for f in a["links"]] == [("test:donor", 1000.0)]

    as_a = await _seen(api, member_a)
    assert set(as_a) == {"test:a", "test:b", "test:donor", "test:quiet"}
    mine = as_a["test:a"]
    assert mine["contactChannels"] == ["signal:+00 1"]
    assert mine["location"]["latitude"] == 6.251234  # its own members see what was recorded
    assert {s["recordId"] for s in mine["services"]} == {"test:a-public", "test:a-restricted"}
    assert {f["sourceId"] for f in mine["links"]} == {"test:donor", "test:quiet"}  # its own funding

    as_b = await _seen(api, member_b)
    assert set(as_b) == {"test:a", "test:b", "test:donor", "test:quiet"}
    other = as_b["test:a"]
    # members of another organisation see the published point, as the public does
    assert other["contactChannels"] == ["signal:+00 1"] and other["location"] == a["location"]
    assert [s["capacity"] for s in other["services"]] == [5]  # capacity is for the network
    assert [f["sourceId"] for f in other["links"]] == ["test:donor"]  # restricted funding stays hidden

    everything = await _seen(api, steward)
    assert set(everything) == {"test:a", "test:b", "test:c", "test:donor", "test:quiet"}
    assert {f["sourceId"] for f in everything["test:a"]["links"]} == {"test:donor", "test:quiet"}


async def test_bad_and_revoked_tokens_are_refused(store: Store, api: Api) -> None:
    await seed(store)
    token_id, token = await store.tokens.create("member", "test:a")
    assert (await api.post("{ taxonomy { code } }", token)).status_code == 200
    for bad in ["pd_nosuchtoken_" + "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "garbage"]:
        response = await api.post("{ taxonomy { code } }", bad)
        assert response.status_code == 401 and "not valid" in response.json()["errors"][0]["message"]
    await store.tokens.revoke(token_id)
    assert (await api.post("{ taxonomy { code } }", token)).status_code == 401
    listed = {t.id: t for t in await store.tokens.list()}
    assert listed[token_id].revoked_at is not None


async def test_a_token_revoked_elsewhere_stops_working_within_a_second(store: Store, api: Api) -> None:
    """Tokens are read from the store at most once a second; another process (the CLI) revoking one
    is seen within that second, and this process revoking one at once."""
    import anyio

    from directory.store.records.tokens import KEPT_SECONDS, REVOKE

    await seed(store)
    token_id, token = await store.tokens.create("member", "test:a")
    assert (await api.post("{ taxonomy { code } }", token)).status_code == 200
    await store.graph.write(REVOKE, id=token_id, now="2026-12-02T00:00:00Z")  # as another process would
    await anyio.sleep(KEPT_SECONDS + 0.1)
    assert (await api.post("{ taxonomy { code } }", token)).status_code == 401


async def test_only_a_hash_of_the_token_is_stored(store: Store) -> None:
    from directory.store.engine.cypher import cypher

    _, token = await store.tokens.create("steward", None)
    rows = await store.graph.read(cypher("tests.tokens", "MATCH (t:ApiToken) RETURN properties(t) AS p"))
    stored = repr(rows)
    secret = token.split("_", 2)[2]  # pd_<id>_<secret>: the secret itself may hold '_'
    assert token not in stored and secret not in stored


async def test_a_member_token_needs_an_existing_organisation(store: Store) -> None:
    from directory.domain.errors import BadArgument, NotFound

    with pytest.raises(NotFound):
        await store.tokens.create("member", "test:nobody")
    with pytest.raises(BadArgument):
        await store.tokens.create("member", None)


async def test_hidden_and_missing_records_answer_the_same_everywhere(store: Store, api: Api) -> None:
    await seed(store)
    for query, hidden, missing in [
        ("query($id: ID!) { organisation(id: $id) { name } }", "test:c", "test:zzz"),
        ("query($id: ID!) { node(id: $id) { id } }", "Organisation:test:c", "Organisation:test:zzz"),
        ("query($id: ID!) { service(id: $id) { name } }", "test:a-restricted", "test:zzz"),
        ("query($id: ID!) { node(id: $id) { id } }", "Service:test:c-public", "Service:test:zzz"),
    ]:
        assert await api.gql(query, id=hidden) == await api.gql(query, id=missing)
    _, member_b = await store.tokens.create("member", "test:b")
    update = """mutation($id: ID!) { updateOrganisation(id: $id, revision: 1, input: {name: "X"}) {
      errors { code field reason } } }"""
    hidden_answer = await api.gql(update, member_b, id="test:c")
    missing_answer = await api.gql(update, member_b, id="test:zzz")
    assert hidden_answer["data"]["updateOrganisation"]["errors"][0]["code"] == "NOT_FOUND"
    assert str(hidden_answer).replace("test:c", "ID") == str(missing_answer).replace("test:zzz", "ID")


async def test_restricted_access_is_audited_without_search_terms(store: Store, api: Api, settings: Settings) -> None:
    await seed(store)
    token_id, member_a = await store.tokens.create("member", "test:a")
    before = len(read_all(settings.data_dir / "audit"))
    await api.data(ALL, member_a)
    await api.data('{ search(text: "secretword defender") { totalCount } }')
    entries = read_all(settings.data_dir / "audit")[before:]
    assert any(e["who"] == f"token:{token_id}" and "test:a-restricted" in e["ids"] for e in entries)
    assert any("test:quiet FUNDS test:a 2026" in e["ids"] for e in entries)
    assert all(e["role"] != "anonymous" for e in entries)
    for path in (settings.data_dir / "audit").iterdir():
        assert "secretword" not in path.read_text()


async def test_a_leaked_token_is_revoked_by_the_whole_of_it_and_its_secret_is_never_said_back(
        store: Store, api: Api, data_dir: Path) -> None:
    """An operator's walk: `token revoke pd_<whole token>` printed the secret back in its error, and
    revoking a revoked token said "revoked" again. Whoever found a token leaked holds the whole of it."""
    from tests.test_cli import run

    await seed(store)
    token_id, token = await store.tokens.create("member", "test:a")
    secret = token.split("_", 2)[2]
    done = await asyncio.to_thread(run, "token", "revoke", token, data=data_dir)
    assert done.stdout.strip() == f"revoked {token_id}" and secret not in done.stdout + done.stderr
    assert (await api.post("{ taxonomy { code } }", token)).status_code == 401
    again = await asyncio.to_thread(run, "token", "revoke", token_id, data=data_dir)
    assert again.stdout.startswith(f"{token_id} was already revoked on ")
    unknown = await asyncio.to_thread(run, "token", "revoke", "pd_nosuchtoke_" + secret, data=data_dir, check=False)
    assert unknown.returncode != 0 and "nosuchtoke" in unknown.stderr and secret not in unknown.stderr


@pytest.mark.pure
@pytest.mark.parametrize("pasted", ["  {token}\n", "Bearer {token}", "Authorization: Bearer {token}", "{secret}",
                                    "pd_short_{secret}"])
def test_a_token_pasted_with_more_or_less_is_never_said_back(pasted: str) -> None:
    """An attacker's read: a space before a pasted token, or `Bearer ` with it, printed it whole in
    the error; so would the secret pasted alone."""
    from directory.store.records.tokens import public_id

    token, secret = "pd_abcdefghij_" + "S" * 43, "S" * 43
    said = public_id(pasted.format(token=token, secret=secret))
    assert secret[:8] not in said and said in ("abcdefghij", "(not a token id)")
