"""Asking to be listed, and the stewards' pages (issue 17): a request is seen by stewards alone until one
approves it, asking is bounded, and a steward's upload gets the CLI's error report with nothing written."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from directory.domain.errors import NotFound
from directory.domain.model import Organisation, Visibility
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange import demo
from directory.store import Asked, Filter, Store, TooMany
from directory.store.records import joining
from tests.conftest import LiveServer
from tests.helpers import ORG_TAGS, SERVICE_TAGS, csv_bytes, org, service

pytestmark = pytest.mark.anyio
CONTACT = "signal +00 111 222 333"
ASKED = {"name": "Colectivo Luna", "kind": "local-group", "country": "HN", "languages": ["es"],
         "website": "https://luna.example.org", "description": "Accompaniment of land defenders.",
         "visibility": "network", "contact": CONTACT, "message": "Referred by a partner."}


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', text)
    assert found is not None
    return found.group(1)


@asynccontextmanager
async def _steward(store: Store, live_server: LiveServer) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser signed in as a steward, and the CSRF value its pages carry."""
    _, token = await store.tokens.create("steward", None, "a steward")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        yield client, csrf_of((await client.get("/stewards")).text)


async def test_a_request_is_seen_by_stewards_alone_until_one_approves_it(store: Store,
                                                                         live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as public:
        form = await public.get("/join")
        assert form.status_code == 200 and 'name="contact"' in form.text and "Honduras" in form.text
        bad = await public.post("/join", data={**ASKED, "website": "luna dot org", "contact": ""})
        assert bad.status_code == 400 and "Nothing was sent" in bad.text
        assert "Website" in bad.text and "is not a web address: write it whole, starting with https://" in bad.text
        assert "How a steward can reach" in bad.text
        # the problems in the order the form shows its fields, whatever order they were found in
        unnamed = await public.post("/join", data={**ASKED, "name": "", "kind": "", "contact": ""})
        said = [unnamed.text.index(f'<li><a href="#j-{field}">{label}</a>')
                for field, label in (("name", "Name of the organisation"), ("kind", "Kind of organisation"),
                                     ("contact", "How a steward can reach you safely"))]
        assert unnamed.status_code == 400 and said == sorted(said)  # each a link to its field, marked invalid
        assert all(f'id="j-{field}" aria-invalid="true"' in unnamed.text for field in ("name", "kind", "contact"))
        assert 'id="j-website" aria-invalid' not in unnamed.text
        # in the page's language: the fields by their labels, the reasons translated, none in English
        spanish = await public.post("/join?lang=es", data={**ASKED, "website": "luna dot org", "contact": "",
                                                           "name": "Luna\u200b"})
        assert spanish.status_code == 400
        assert ("Sitio web (https://...)</a>: &#39;luna dot org&#39; no es una dirección web: escríbala completa, "
                "empezando por https://") in spanish.text
        assert "Cómo puede contactarle de forma segura una persona administradora</a>: es obligatorio" in spanish.text
        assert "contiene caracteres de control o que no se ven (U+200B en la posición 5)" in spanish.text
        assert "is not" not in spanish.text and "contains" not in spanish.text
        # a count takes the form its language gives that number (Russian: 300 символов, 301 символ)
        russian = await public.post("/join?lang=ru", data={**ASKED, "name": "Л" * 301})
        assert russian.status_code == 400 and "длина — 301, допустимо не более 300 символов" in russian.text
        assert not await store.graph.read("MATCH (r:JoinRequest) RETURN r.id AS id")
        # the website as people type it, without its scheme: taken as https (it was refused)
        sent = await public.post("/join", data={**ASKED, "website": "luna.example.org"})
        assert sent.status_code == 303 and sent.headers["location"] == "/join/sent"  # reloading it sends nothing
        thanked = await public.get("/join/sent?lang=en")
        assert thanked.status_code == 200 and "Request sent" in thanked.text and CONTACT not in thanked.text
        # an Arabic walk: neither page said what others would see, nor what comes after sending
        assert "What happens next" in thanked.text and "a token to sign in with" in thanked.text
        assert "keep neither how to reach you nor your message" in thanked.text
        assert "is shown to those you choose here, and never how to reach you or your message" in form.text
        assert "also go to the directories this one trusts" in form.text
        # sent again as it was (a double click, the back button, a form sent anew): the one request
        for _ in range(2):
            assert (await public.post("/join", data=ASKED)).status_code == 303
        [request_id] = [r["id"] for r in await store.graph.read("MATCH (r:JoinRequest) RETURN r.id AS id")]
        # nobody but a steward finds it: not the public, not a member, not search, listing or GraphQL
        hidden = (await public.get(f"/stewards/requests/{request_id}")).text.replace(request_id, "ID")
        missing = (await public.get("/stewards/requests/no-such-request")).text.replace("no-such-request", "ID")
        assert hidden == missing
        assert (await public.get("/stewards")).status_code == 404
        found = await public.post("/", data={"text": "Colectivo Luna"})
        assert found.status_code == 200 and 'href="/organisations/' not in found.text.split("<main", 1)[1]
        graphql = await public.post("/graphql", json={"query": '{ search(text: "Luna") { totalCount } }'})
        assert graphql.json()["data"]["search"]["totalCount"] == 0
    listed = await store.list_organisations(STEWARD, Filter(), 20)
    assert listed.total == 0
    with pytest.raises(NotFound):
        await store.join_requests.get(Viewer("member", "test:any"), request_id)

    async with _steward(store, live_server) as (client, csrf):
        desk = await client.get("/stewards")
        assert "Colectivo Luna" in desk.text and f"/stewards/requests/{request_id}" in desk.text
        review = await client.get(f"/stewards/requests/{request_id}")
        assert CONTACT in review.text and "Referred by a partner." in review.text
        approved = await client.post(f"/stewards/requests/{request_id}",
                                     data={"csrf": csrf, "decision": "approve", "visibility": "public",
                                           "token": "yes"})
        assert approved.status_code == 200 and "Listed" in approved.text
        token = re.search(r"<code>(pd_[a-z0-9]{10}_[A-Za-z0-9_-]{43})</code>", approved.text)
        assert token is not None
        # shown once: no link on the page leads to it again in another language (one that did lost it)
        assert 'class="languages"' not in approved.text and "?lang=" not in approved.text
        assert "cannot be shown again" in approved.text
        # beside it, once, how they asked to be reached: where the token is to go (approving forgets it)
        assert "How they asked to be reached" in approved.text and CONTACT in approved.text
        record_id = re.search(r'href="/organisations/([^"]+)"', approved.text)
        assert record_id is not None
        # a second answer (another steward's, or a resent form) is told the request was decided, and how
        for decision in ("decline", "approve"):
            late = await client.post(f"/stewards/requests/{request_id}", data={"csrf": csrf, "decision": decision})
            assert late.status_code == 409 and "was decided before your answer arrived" in late.text
            assert "<dd>approved · " in late.text and f'href="/organisations/{record_id.group(1)}"' in late.text
            assert f'href="/organisations/{record_id.group(1)}"><bdi>Colectivo Luna</bdi>' in late.text  # by name
            assert 'name="decision"' not in late.text
        gone = await client.post("/stewards/requests/no-such-request", data={"csrf": csrf, "decision": "decline"})
        assert gone.status_code == 404
    organisation = await store.organisation(ANONYMOUS, record_id.group(1))
    assert organisation.name == "Colectivo Luna" and organisation.visibility.value == "public"
    assert organisation.languages == ["es"] and organisation.website == "https://luna.example.org"
    viewer = await store.tokens.viewer(token.group(1))
    assert viewer is not None and viewer.may_write(organisation.id)
    # a decision forgets who asked and how to reach them
    kept = (await store.graph.read("MATCH (r:JoinRequest {id: $id}) RETURN r {.*} AS r", id=request_id))[0]["r"]
    assert kept["status"] == "approved" and not {"contact", "message", "client", "sent"} & set(kept)
    with pytest.raises(NotFound):  # decided once
        await store.approve_join(STEWARD, request_id)


async def test_a_request_sent_again_is_one_only_from_the_client_that_sent_it(store: Store) -> None:
    """One client's reload is its first request; another client's identical one is a request of its
    own, so its answer cannot tell whether someone has asked to be listed with that contact."""
    vocab = await store.vocabulary()
    asked = Asked({"name": "Casa Abierta", "kind": "local-group"}, CONTACT, "hi")
    first = await store.join_requests.ask(asked, "10.0.0.21", vocab)
    assert await store.join_requests.ask(asked, "10.0.0.21", vocab) == first
    assert await store.join_requests.ask(asked, "10.0.0.22", vocab) != first
    assert len(await store.join_requests.list(STEWARD)) == 2


async def test_declining_asks_first_then_forgets_the_contact(store: Store, live_server: LiveServer) -> None:
    """Declining forgets how to reach whoever asked, for good: one press of the button asks again on
    a page of its own, and only the second declines."""
    vocab = await store.vocabulary()
    request_id = await store.join_requests.ask(Asked({k: ASKED[k] for k in joining.RECORD_FIELDS}, CONTACT),
                                               "10.0.0.1", vocab)
    async with _steward(store, live_server) as (client, csrf):
        asking = await client.post(f"/stewards/requests/{request_id}", data={"csrf": csrf, "decision": "decline"})
        assert asking.status_code == 200 and "forgets their contact" in asking.text
        assert 'name="confirmed" value="yes"' in asking.text and "<bdi>Colectivo Luna</bdi>" in asking.text
        neither = await client.post(f"/stewards/requests/{request_id}", data={"csrf": csrf, "decision": "maybe"})
        assert neither.status_code == 400 and 'value="approve"' in neither.text
        assert (await store.join_requests.get(STEWARD, request_id)).contact == CONTACT  # nothing decided yet
        declined = await client.post(f"/stewards/requests/{request_id}",
                                     data={"csrf": csrf, "decision": "decline", "confirmed": "yes"})
        assert declined.status_code == 303 and declined.headers["location"] == "/stewards"
    decided = await store.join_requests.get(STEWARD, request_id)
    assert decided.status == "declined" and decided.contact == "" and decided.message == ""


async def test_two_stewards_approving_at_once_list_it_once(store: Store) -> None:
    vocab = await store.vocabulary()
    request_id = await store.join_requests.ask(Asked({k: ASKED[k] for k in joining.RECORD_FIELDS}, CONTACT),
                                               "10.0.0.1", vocab)
    outcomes = await asyncio.gather(*(store.approve_join(STEWARD, request_id) for _ in range(2)),
                                    return_exceptions=True)
    made = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(made) == 1 and isinstance(next(o for o in outcomes if o not in made), NotFound)
    assert (await store.list_organisations(STEWARD, Filter(), 20)).total == 1


async def test_a_declined_request_lists_nothing_and_forgets_the_contact(store: Store) -> None:
    request_id = await store.join_requests.ask(Asked({"name": "Someone", "kind": "local-group"}, CONTACT, "hi"),
                                               "10.0.0.2", await store.vocabulary())
    with pytest.raises(NotFound):
        await store.join_requests.decline(Viewer("member", "test:x"), request_id)
    await store.join_requests.decline(STEWARD, request_id)
    decided = await store.join_requests.get(STEWARD, request_id)
    assert decided.status == "declined" and decided.contact == "" and decided.message == ""
    assert decided.fields == {}  # nothing of what they typed is kept
    assert (await store.list_organisations(STEWARD, Filter(), 20)).total == 0
    # a decision is shown for a while, then deleted
    await store.graph.write("MATCH (r:JoinRequest {id: $id}) SET r.decided_at = '2020-01-01T00:00:00.000000Z'",
                            id=request_id)
    assert await store.join_requests.list(STEWARD) == []
    with pytest.raises(NotFound):
        await store.join_requests.get(STEWARD, request_id)


async def test_asks_at_once_from_one_client_pass_the_bound_no_more_than_one_at_a_time(store: Store) -> None:
    vocab = await store.vocabulary()
    outcomes = await asyncio.gather(*(store.join_requests.ask(
        Asked({"name": f"Group {n}", "kind": "local-group"}, CONTACT), "10.0.0.3", vocab) for n in range(6)),
        return_exceptions=True)
    assert sum(isinstance(o, str) for o in outcomes) == joining.PER_CLIENT
    assert all(isinstance(o, TooMany) for o in outcomes if not isinstance(o, str))


def test_an_ipv6_client_is_bounded_by_its_network_not_each_address() -> None:
    assert joining._network("2001:db8:1:2::1") == joining._network("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert joining._network("2001:db8:1:3::1") != joining._network("2001:db8:1:2::1")
    assert joining._network("::ffff:10.0.0.1") == joining._network("10.0.0.1") == "10.0.0.1"
    assert joining._network("unknown") == "unknown"


async def test_asking_is_bounded_per_client_in_all_and_in_size(store: Store, live_server: LiveServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as public:
        for n in range(joining.PER_CLIENT):
            assert (await public.post("/join", data={**ASKED, "name": f"Group {n}"})).status_code == 303
        busy = await public.post("/join", data={**ASKED, "name": "One more"})
        assert busy.status_code == 429 and "try again tomorrow" in busy.text
        assert 'value="One more"' in busy.text  # the form again, as it was typed: nothing lost (a walk)
        long = await public.post("/join", data={**ASKED, "message": "x" * 20_000})  # the field's fault, named
        assert long.status_code == 400
        assert "Anything a steward should know</a>: is longer than 2000 characters" in long.text
        assert 'value="Colectivo Luna"' in long.text  # what was typed stays
        # a description as long as its box takes, in Arabic (six bytes a letter once percent-encoded): read
        arabic = await public.post("/join?lang=ar", data={**ASKED, "description": "حماية" * 1000, "contact": ""})
        assert arabic.status_code == 400 and "حماية" * 1000 in arabic.text
        huge = await public.post("/join?lang=en", data={**ASKED, "message": "x" * 300_000})
        assert huge.status_code == 413 and "too long" in huge.text
        many = await public.post("/join", data={f"f{n}": "x" for n in range(1500)})
        assert many.status_code == 400 and "too long" in many.text
    names = {r["name"] for r in await store.graph.read("MATCH (r:JoinRequest) RETURN r.name AS name")}
    assert names == {f"Group {n}" for n in range(joining.PER_CLIENT)}
    # another client is still heard, until too many wait in all
    vocab = await store.vocabulary()
    await store.join_requests.ask(Asked({"name": "Elsewhere", "kind": "local-group"}, CONTACT), "10.0.0.9", vocab)
    monkeypatch.setattr(joining, "PENDING_MAX", joining.PER_CLIENT + 1)
    with pytest.raises(TooMany) as many:
        await store.join_requests.ask(Asked({"name": "Late", "kind": "local-group"}, CONTACT), "10.0.0.10", vocab)
    assert many.value.mine is False
    # what identifies a client is kept only as a keyed hash
    clients = {r["c"] for r in await store.graph.read("MATCH (r:JoinRequest) RETURN r.client AS c")}
    assert "127.0.0.1" not in clients and "10.0.0.9" not in clients and all(len(c) == 32 for c in clients)


async def test_a_steward_uploads_a_bad_file_sees_every_problem_and_nothing_is_written(
        store: Store, live_server: LiveServer) -> None:
    bad = (b"Id,Name,Kind,Country\n#org+id,#org+name,#org+type,#country+code\n"
           b"test:a,Alpha,local-group,HN\ntest:b,,local-group,HN\ntest:c,Gamma,no-such-kind,XX\n")
    good = b"Id,Name,Kind\n#org+id,#org+name,#org+type\ntest:a,Alpha,local-group\n"
    async with _steward(store, live_server) as (client, csrf):
        shown = await client.post("/stewards/import", data={"csrf": csrf},
                                  files={"files": ("orgs.csv", bad, "text/csv")})
        assert shown.status_code == 400 and "Nothing was written" in shown.text
        row = r"<tr[^>]*><td[^>]*><bdi>orgs.csv</bdi></td><td[^>]*>(\d+)</td><td[^>]*><bdi>([^<]*)</bdi></td>"
        rows = re.findall(row, shown.text)
        assert rows == [("4", "#org+name"), ("5", "#org+type"), ("5", "#country+code")]  # as the CLI names them
        assert (await store.list_organisations(STEWARD, Filter(), 20)).total == 0
        # more files than the form takes: a page that says so, in its language, not the framework's words
        many = await client.post("/stewards/import?lang=fr", data={"csrf": csrf},
                                 files=[("files", (f"f{n}.csv", good, "text/csv")) for n in range(4)])
        assert many.status_code == 400 and "choisissez au plus 3 fichiers" in many.text and "<main" in many.text
        assert "Too many files" not in many.text
        # a chosen file that is empty is named with what is wrong with it; no file at all is asked for
        empty = await client.post("/stewards/import?lang=en", data={"csrf": csrf},
                                  files={"files": ("empty.csv", b"", "text/csv")})
        assert empty.status_code == 400 and "<bdi>empty.csv</bdi>" in empty.text and "no HXL hashtag row" in empty.text
        unchosen = await client.post("/stewards/import", data={"csrf": csrf},
                                     files={"files": ("", b"", "application/octet-stream")})
        assert unchosen.status_code == 400 and "choose one to three CSV (HXL) files" in unchosen.text
        broken = await client.post("/stewards/import?lang=fr", content=b"csrf=" + csrf.encode(),
                                   headers={"content-type": "multipart/form-data"})  # no boundary: unreadable
        assert broken.status_code == 400 and "n&#39;a pas pu être lu tel qu&#39;envoyé" in broken.text
        french = await client.post("/stewards/import", data={"csrf": csrf},
                                   files={"files": ("orgs.csv", bad, "text/csv")})
        assert french.status_code == 400 and "n&#39;est pas un code de pays ISO 3166-1" in french.text  # as checked
        checked = await client.post("/stewards/import?lang=en", data={"csrf": csrf, "check": "yes"},
                                    files={"files": ("orgs.csv", good, "text/csv")})
        assert checked.status_code == 200 and "nothing was written" in checked.text
        assert (await store.list_organisations(STEWARD, Filter(), 20)).total == 0
        forged = await client.post("/stewards/import", files={"files": ("orgs.csv", good, "text/csv")})
        assert forged.status_code == 403
        assert (await store.list_organisations(STEWARD, Filter(), 20)).total == 0
        done = await client.post("/stewards/import", data={"csrf": csrf},
                                 files={"files": ("orgs.csv", good, "text/csv")})
        assert done.status_code == 200 and "imported" in done.text
        assert (await store.organisation(ANONYMOUS, "test:a")).name == "Alpha"
    _, member = await store.tokens.create("member", "test:a", "alpha")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {member}"}) as other:
        refused = await other.post("/stewards/import", files={"files": ("orgs.csv", good, "text/csv")})
        assert refused.status_code == 404 and (await other.get("/stewards")).status_code == 404


async def test_a_stewards_import_lists_what_only_check_lists_for_every_file(store: Store,
                                                                            live_server: LiveServer) -> None:
    """Was an integrator's walk: "Only check" found more problems than the import itself (a shelter's
    service given a province after a bad row), and a file with an unknown column hid the other file's."""
    await demo.load(store)
    cols = csv_bytes([*ORG_TAGS, "#org+colour"], [org("b", **{"#org+colour": "red"})])
    services = csv_bytes(SERVICE_TAGS, [service("s1", "fict-casa-respiro", **{"#status": "sleeping"}), service(
        "s2", "fict-casa-respiro", "relocation-in-country", **{"#country+code+present": "CO-ANT"})])
    files = [("files", ("cols.csv", cols, "text/csv")), ("files", ("services.csv", services, "text/csv"))]
    row = r"<tr[^>]*><td[^>]*><bdi>([^<]*)</bdi></td><td[^>]*>(\d+)</td><td[^>]*><bdi>([^<]*)</bdi></td>"
    listed = {}
    async with _steward(store, live_server) as (client, csrf):
        for check in ("yes", "no"):
            shown = await client.post("/stewards/import?lang=en", data={"csrf": csrf, "check": check}, files=files)
            assert shown.status_code == 400 and "Nothing was written" in shown.text
            listed[check] = re.findall(row, shown.text)
    assert listed["yes"] == listed["no"] == [("cols.csv", "2", "#org+colour"), ("services.csv", "3", "#status"),
                                             ("services.csv", "4", "#country+code+present")], listed
    assert (await store.services_by_id(STEWARD, ["test:s1", "test:s2"])) == {}


async def test_a_form_another_site_sent_is_refused_signed_in_or_not(store: Store, live_server: LiveServer) -> None:
    """Another site cannot sign a browser in as someone else, sign it out, or ask to join from it."""
    _, member = await store.tokens.create("steward", None, "theirs")
    async with httpx.AsyncClient(base_url=live_server.url) as browser:
        for header in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"},
                       {"Origin": "null", "Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
            signed = await browser.post("/sign-in", data={"token": member}, headers=header)
            assert signed.status_code == 403 and "pd_session" not in signed.headers.get("set-cookie", ""), header
            joined = await browser.post("/join", data=ASKED, headers=header)
            assert joined.status_code == 403, header
        assert not await store.graph.read("MATCH (r:JoinRequest) RETURN r.id AS id")
        own = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}  # what a browser sends from our pages
        assert (await browser.post("/sign-in", data={"token": member}, headers=own)).status_code == 303
        # numbers a person could not have typed in our forms are refused, not a server error
    async with httpx.AsyncClient(base_url=live_server.url) as odd:
        for expiry in (b"\xb2\xb2", b"9" * 5000):  # "²²" read as latin-1 is digits to str.isdigit
            answer = await odd.get("/", headers=[(b"cookie", b"pd_session=" + expiry + b"." + member.encode())])
            assert answer.status_code == 200 and "Sign in" in answer.text


async def test_an_upload_sent_in_chunks_is_refused_before_it_is_read(store: Store, live_server: LiveServer) -> None:
    async with _steward(store, live_server) as (client, csrf):
        body = (b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + csrf.encode() + b"\r\n--b--\r\n")

        async def chunks() -> AsyncIterator[bytes]:
            yield body

        sent = await client.post("/stewards/import", content=chunks(),
                                 headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert sent.status_code == 400 and "size was not given" in sent.text


async def test_a_steward_makes_a_token_shown_once_and_revokes_it(store: Store, live_server: LiveServer) -> None:
    async with _steward(store, live_server) as (client, csrf):
        await client.post("/stewards/import", data={"csrf": csrf}, files={"files": (
            "orgs.csv", b"Id,Name,Kind\n#org+id,#org+name,#org+type\ntest:a,Alpha,local-group\n", "text/csv")})
        made = await client.post("/stewards/tokens", data={"csrf": csrf, "role": "member", "organisation": "test:a",
                                                           "label": "Alpha's desk"})
        token = re.search(r"<code>(pd_([a-z0-9]{10})_[A-Za-z0-9_-]{43})</code>", made.text)
        assert made.status_code == 200 and token is not None
        desk = await client.get("/stewards")
        assert f"pd_{token.group(2)}_" in desk.text and token.group(1) not in desk.text
        assert desk.text.count("the token you are signed in with") == 1  # offered no button to lock oneself out
        assert "Alpha&#39;s desk" in desk.text
        assert await store.tokens.viewer(token.group(1)) is not None
        unknown = await client.post("/stewards/tokens", data={"csrf": csrf, "role": "member", "organisation": "nope"})
        assert unknown.status_code == 400
        # an organisation by its name, as every other form takes it, and shown by its name on the desk
        by_name = await client.post("/stewards/tokens", data={"csrf": csrf, "role": "member", "organisation": "alpha",
                                                              "label": "by name"})
        assert by_name.status_code == 200 and "<code>pd_" in by_name.text
        desk = await client.get("/stewards")
        assert '<a href="/organisations/test:a"><bdi>Alpha</bdi></a>' in desk.text and ">test:a</a>" not in desk.text
        await client.post("/stewards/import", data={"csrf": csrf}, files={"files": (
            "more.csv", b"Id,Name,Kind\n#org+id,#org+name,#org+type\ntest:ab,Alpha Beta,local-group\n"
                        b"test:ag,Alpha Gamma,local-group\n", "text/csv")})
        several = await client.post("/stewards/tokens", data={"csrf": csrf, "role": "member", "organisation": "Alph",
                                                              "label": "which"})
        assert several.status_code == 400 and "Alpha Beta (test:ab)" in several.text  # listed, never guessed
        # a label is text a steward reads, on the desk and in a terminal: nothing in it that cannot be seen
        before = len(await store.tokens.list())
        for label, reason in (("Alpha\u200b desk", "characters that cannot be seen (U+200B at position 6)"),
                              ("desk \x1b[2J", "control characters"),
                              ("tab\there", "a tab or a line break (position 4)"),
                              ("x" * 201, "at most 200 are allowed")):
            odd = await client.post("/stewards/tokens", data={"csrf": csrf, "role": "steward", "label": label})
            assert odd.status_code == 400 and reason in odd.text and "Label (who holds it)" in odd.text, label
            assert 'name="role" value="steward" checked' in odd.text  # what was chosen stays chosen
        assert len(await store.tokens.list()) == before
        # a revocation cannot be undone: the button asks first, naming the token, and changes nothing
        asking = await client.post(f"/stewards/tokens/{token.group(2)}/revoke", data={"csrf": csrf})
        assert asking.status_code == 200 and f"<code>pd_{token.group(2)}_…</code>" in asking.text
        assert 'name="confirmed" value="yes"' in asking.text and "cannot be made to work again" in asking.text
        assert await store.tokens.viewer(token.group(1)) is not None
        sure = {"csrf": csrf, "confirmed": "yes"}
        revoked = await client.post(f"/stewards/tokens/{token.group(2)}/revoke", data=sure)
        assert revoked.status_code == 200 and "revoked" in revoked.text
        again = await client.post(f"/stewards/tokens/{token.group(2)}/revoke", data=sure)
        assert again.status_code == 404  # revoked already: nothing to revoke
        assert await store.tokens.viewer(token.group(1)) is None
        # the steward's sign-in ended with the form open: asked to sign in again, what was typed kept
        client.cookies.clear()
        ended = await client.post("/stewards/tokens", data={"csrf": csrf, "role": "member", "organisation": "test:a",
                                                            "label": "Typed once"})
        assert ended.status_code == 401 and 'name="carried:label" value="Typed once"' in ended.text
        upload = await client.post("/stewards/import", data={"csrf": csrf},
                                   files={"files": ("o.csv", b"x", "text/csv")})
        assert upload.status_code == 401 and "Files cannot be kept" in upload.text
        nobody = await client.post("/stewards/tokens", data={"role": "member"})  # no signed-in page's form
        assert nobody.status_code == 404


async def test_the_import_page_offers_an_example_of_each_kind_of_file(store: Store, live_server: LiveServer) -> None:
    """Walk: a new steward on the import page had no guide to the columns a file may have."""
    from directory.formats import hxl

    async with _steward(store, live_server) as (client, _csrf):
        form = await client.get("/stewards/import")
        examples = re.findall(r'<a href="(/stewards/import/examples/[a-z]+\.csv)">', form.text)
        assert len(examples) == 4
        for path in examples:
            example = await client.get(path)
            assert example.status_code == 200 and example.headers["content-type"].startswith("text/csv")
            hashtags = next(line for line in example.text.splitlines() if line.startswith("#")).split(",")
            kind = path.rsplit("/", 1)[1].removesuffix(".csv")
            assert all(hxl.canonical(h) in {hxl.canonical(t) for t in hxl.KINDS[kind]} for h in hashtags if h)
        assert (await client.get("/stewards/import/examples/secrets.txt")).status_code == 404
    async with httpx.AsyncClient(base_url=live_server.url) as public:
        assert (await public.get(examples[0])).status_code == 404  # a steward's page, as any other


async def test_an_import_the_store_stops_answering_during_says_so_on_its_page(
        store: Store, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that ran out of memory in a steward's import answered a bare "Internal Server Error":
    the import page runs past the pages' deadline, so it says itself what happened and what to do."""
    from directory.domain.errors import StoreUnavailable
    from directory.exchange import importer

    async def stopped(*_: object, **__: object) -> None:
        raise StoreUnavailable("the graph store is not answering")

    monkeypatch.setattr(importer, "import_inputs", stopped)
    async with _steward(store, live_server) as (client, csrf):
        answer = await client.post("/stewards/import", data={"csrf": csrf}, files={"files": (
            "o.csv", b"Id,Name,Kind\n#org+id,#org+name,#org+type\ntest:a,Alpha,local-group\n", "text/csv")})
    assert answer.status_code == 503 and "stopped answering during the import" in answer.text
    assert "importing the same files again completes it" in answer.text and "Traceback" not in answer.text


async def test_a_steward_reading_a_request_is_told_of_organisations_listed_with_a_name_like_it(
        store: Store, live_server: LiveServer) -> None:
    """A walk asked to list a group listed already, and the steward's page said nothing of it."""
    await store.upsert([Organisation("test:luna", "Colectivo Luna", "local-group", visibility=Visibility.NETWORK),
                        Organisation("test:sol", "Colectivo Sol", "local-group")], [], [])
    async with httpx.AsyncClient(base_url=live_server.url) as public:
        assert (await public.post("/join", data=ASKED)).status_code == 303
        assert (await public.post("/join", data={**ASKED, "name": "Red Arcoíris"})).status_code == 303
    ids = {r["name"]: r["id"] for r in await store.graph.read(
        "MATCH (r:JoinRequest) RETURN r.id AS id, r.name AS name")}
    async with _steward(store, live_server) as (steward, _):
        luna = (await steward.get(f"/stewards/requests/{ids['Colectivo Luna']}")).text
        other = (await steward.get(f"/stewards/requests/{ids['Red Arcoíris']}")).text
    assert "Listed already, with a name like this one" in luna
    assert '<a href="/organisations/test:luna"><bdi>Colectivo Luna</bdi></a>' in luna  # the network's too
    assert "Listed already" not in other
