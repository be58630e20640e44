"""Finding partners takes two shortcuts, and neither may change an answer.

The store reads only the services fitting who the partner is for (the asker's defender groups and
languages, the group and language asked), and the candidates' networks are read only for those
whose networks could still bring them among the first. Here, on a generated directory, every answer
is compared with the long way: every candidate reaching the place read whole, every one's links
read, every one scored."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from directory.base.config import Settings
from directory.domain import places
from directory.domain.model import Link, Organisation, Visibility
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange import generate
from directory.jobs import partners
from directory.jobs.partners import Partner, PartnerQuestion, find_partners
from directory.store import Store
from directory.store.jobs.partners import ties

pytestmark = pytest.mark.anyio

ON = date(2026, 12, 1)
TYPES = ["legal-aid", "emergency-grant", "digital-security", "relocation-regional", "psychosocial-support"]


def networks(organisations: list[Organisation], rng: random.Random) -> list[Link]:
    """Memberships and vetting, which the generated directory has none of, each seen by some viewers only:
    the networks part then tells candidates apart, and whom it may bring among the first differs."""
    hubs = [o.id for o in organisations if o.kind in ("regional-network", "international-ngo", "donor")]
    return [Link(kind, o.id, hub, rng.choice(list(Visibility)))
            for o in organisations for kind in ("MEMBER_OF", "VETTED_BY") if rng.random() < 0.4
            for hub in rng.sample(hubs, rng.randint(1, 3)) if hub != o.id]


async def the_long_way(store: Store, viewer: Viewer, q: PartnerQuestion) -> tuple[list[Partner], int]:
    """`find_partners` by country without its shortcuts: every candidate, its networks, its score; and
    how many candidates fit."""
    asker = await partners._asker(store, viewer,
                                  await partners._asking(store, viewer, q.organisation or viewer.organisation))
    asker = partners._for_whom(asker, q.group, q.language)
    wanted = sorted(q.service_types or [])
    where = places.one_place(q.country or asker.country or "", "country")
    candidates = await store.jobs.partners_reaching(viewer, asker.id or "", wanted, where)  # nothing left out
    partnered, networks = await partners._links(store, viewer, asker.id)
    asker = replace(asker, networks=networks)
    candidates = [c for c in candidates if c.id not in partnered]
    theirs: dict[str, dict[str, str]] = {}
    if asker.id is not None:
        links = [x for x in await store.links_of(viewer, [c.id for c in candidates], "out")
                 if x.type in ("MEMBER_OF", "VETTED_BY")]
        theirs = {c.id: ties((x.type, x.target) for x in links if x.source == c.id) for c in candidates}
    common = sorted({t for c in candidates for t in partners._common(asker, theirs.get(c.id, {}))})
    names = {i: o.name for i, o in (await store.organisations_by_id(viewer, common)).items()} if common else {}
    found = [p for p in (partners._score(c, asker, wanted, q.group, q.language, theirs.get(c.id, {}), names,
                                         where, None, ON) for c in candidates) if p is not None]
    return sorted(found, key=lambda p: (-p.score, p.organisation))[:q.first], len(found)


async def test_the_shortcuts_change_no_answer(store: Store, settings: Settings) -> None:
    batch = generate.build(1000, 7, settings.directory_id)
    rng = random.Random(3)
    # some record no language at all (a candidate then shares one by default), or only on some services
    silent = {o.id for o in batch.organisations if rng.random() < 0.15}
    organisations = [replace(o, languages=[]) if o.id in silent else o for o in batch.organisations]
    services = [replace(s, languages=[]) if s.organisation in silent or rng.random() < 0.1 else s
                for s in batch.services]
    await store.upsert(organisations, services, batch.links + networks(organisations, rng))
    located = [o for o in organisations if o.location and o.location.country]
    busiest = Counter(o.location.country for o in located if o.location).most_common(6)
    askers = [o for o in located if o.location and o.location.country in dict(busiest)]  # many candidates each
    viewers = [STEWARD, ANONYMOUS, *(Viewer("member", o.id, "t") for o in rng.sample(askers, 3))]
    answered, crowded = 0, 0
    for n in range(60):
        asker, viewer = rng.choice(askers), viewers[n % len(viewers)]
        types = rng.sample(TYPES, rng.randint(1, 3))
        group, language = rng.choice([(None, None), ("journalists", None), (None, "es"), (None, "en")])
        country = asker.location.country if asker.location else None
        q = (PartnerQuestion(asker.id, types, first=rng.choice([1, 2, 3, 10]), group=group, language=language)
             if n % 4 else PartnerQuestion(None, types, country, first=5, group=group, language=language))
        if q.organisation and q.organisation not in await store.organisations_by_id(viewer, [q.organisation]):
            continue  # an asker this viewer may not see is not found: nothing to compare
        ours = await find_partners(store, viewer, q, ON)
        expected, fitting = await the_long_way(store, viewer, q)
        assert ours == expected, (viewer, q)
        answered += bool(ours)
        crowded += fitting > 3 * q.first  # the networks shortcut had candidates to leave out
    assert answered > 30 and crowded > 10
