"""Maps as served and as written: what a public page may hold, and what it must never hold."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from directory.base.config import Settings
from directory.store import Store
from tests.conftest import LiveServer
from tests.helpers import load, org, refers, service
from tests.test_iati import directory

pytestmark = pytest.mark.anyio

SECRET_NAMES = ("Network Only Group", "Restricted Secret Group", "Casa Uno", "Casa Dos", "Lake Shelter")
PRECISE = ("6.25123", "6.2512", "-75.56345", "-75.5634", "4.71098", "-74.07209")
XSS = "</script><script>window.pwned=1</script>"


def shelter(oid: str, name: str, country: str, sub: str = "", lat: str = "", lon: str = "",
            precision: str = "country") -> dict[str, object]:
    return org(oid, name, **{"#org+type": "shelter", "#meta+visibility": "public", "#country+code": country,
                             "#adm1+code": sub, "#geo+lat": lat, "#geo+lon": lon, "#geo+precision": precision})


async def seed(store: Store) -> None:
    await load(store, [
        org("a", "Medellín Defenders", **{"#geo+lat": "6.251234", "#geo+lon": "-75.563456",
                                          "#geo+precision": "locality", "#adm1+code": "CO-ANT",
                                          "#channel+contact": "signal:+00 1"}),
        org("bogota", "Bogotá Lawyers", **{"#geo+lat": "4.710989", "#geo+lon": "-74.072092",
                                           "#geo+precision": "admin_area", "#adm1+code": "CO-DC"}),
        org("b", "Network Only Group", **{"#meta+visibility": "network", "#geo+lat": "3.45", "#geo+lon": "-76.53"}),
        org("c", "Restricted Secret Group", **{"#meta+visibility": "restricted", "#geo+lat": "3.45",
                                               "#geo+lon": "-76.53"}),
        org("donor", "Open Donor", **{"#org+type": "donor"}),
        org("xss", XSS, **{"#country+code": "KE", "#geo+lat": "-0.09", "#geo+lon": "34.77"}),
        # two public shelters in Colombia: too few to draw on a public map
        shelter("s1", "Casa Uno", "CO"), shelter("s2", "Casa Dos", "CO"),
        # three in Nairobi: drawn; in Tanzania two in one region and one in another: none drawn
        shelter("k1", "Nairobi Shelter One", "KE", "KE-30", "-1.29", "36.82", "locality"),
        shelter("k2", "Nairobi Shelter Two", "KE", "KE-30", "-1.31", "36.85", "locality"),
        shelter("k3", "Nairobi Shelter Three", "KE", "KE-30", "-1.25", "36.78", "locality"),
        shelter("t1", "Lake Shelter", "TZ", "TZ-18", "-2.52", "32.90", "locality"),
        shelter("t2", "Lake Shelter Two", "TZ", "TZ-18", "-2.55", "32.95", "locality"),
        shelter("t3", "Coast Shelter", "TZ", "TZ-02", "-6.80", "39.28", "locality"),
    ], [
        service("a-legal", "a"), service("bogota-legal", "bogota"), service("b-legal", "b"), service("c-legal", "c"),
    ], [
        refers("a", "bogota", visibility="public"),
        refers("a", "b"), refers("b", "bogota"), refers("a", "c", visibility="restricted"),
        {"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "bogota", "#meta+id": "g1",
         "#meta+visibility": "restricted", "#value": "98765", "#currency": "EUR", "#date+year": "2026"},
        {"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "a", "#meta+id": "g2",
         "#meta+visibility": "public", "#value": "4321", "#currency": "EUR", "#date+year": "2026"},
    ])


PUBLIC_MAPS = {
    "directory": {},
    "gaps": {"serviceTypes": "legal-aid"},
    "gaps-co": {"serviceTypes": "legal-aid", "country": "CO"},
    "referrals": {"from": "test:a", "serviceType": "legal-aid", "country": "CO"},
    "funding": {"serviceTypes": "legal-aid"},
}


async def fetch(server: LiveServer, kind: str, params: dict[str, str], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        return await client.get(f"/maps/{kind.split('-')[0]}", params=params, headers=headers)


async def test_public_maps_hold_no_hidden_record_precise_point_or_contact(store: Store,
                                                                        live_server: LiveServer) -> None:
    await seed(store)
    for name, params in PUBLIC_MAPS.items():
        response = await fetch(live_server, name, params)
        assert response.status_code == 200, (name, response.text[:500])
        page = response.text
        for secret in (*SECRET_NAMES, *PRECISE, "signal:", "98765"):
            assert secret not in page, (name, secret)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), name  # nothing loaded from elsewhere
        assert not re.search(r"<script[^>]*\bsrc=\"(?!/maps/assets/)", page), name
    directory_page = (await fetch(live_server, "directory", {})).text
    assert "Medellín Defenders" in directory_page and "Nairobi Shelter One" in directory_page
    funding_page = (await fetch(live_server, "funding", {"serviceTypes": "legal-aid"})).text
    assert "4,321 EUR" in funding_page  # the public grant is drawn; the restricted one is not
    # a country's map draws who is based there, and says so (a Russian walk read "0" as nobody helping)
    kenya = (await fetch(live_server, "directory", {"country": "KE"})).text
    assert "organisations working in Kenya from elsewhere are not drawn here" in kenya
    assert "from elsewhere are not drawn" not in directory_page


async def test_record_text_cannot_end_the_script_it_sits_in(store: Store, live_server: LiveServer) -> None:
    await seed(store)
    page = (await fetch(live_server, "directory", {})).text
    assert "window.pwned" in page and XSS not in page and "</script><script>window" not in page


TEMPLATED = "{{ 'tem' ~ 'plated' }} {% if 1 %}tag{{ 'ged' }}{% endif %}{# said #}"


async def test_record_text_is_never_run_as_a_template_on_any_map(store: Store, live_server: LiveServer,
                                                                  settings: Settings, tmp_path: Path) -> None:
    """A hostile peer's read: branca compiles an element's text as a Jinja template, and a peer's
    organisation named "{{ cycler.__init__.__globals__.os.popen('id').read() }}" ran a command on the
    server when an anonymous visitor opened a map. Every map, served or written by the CLI, shows
    record text as it is: names in markers, paths, tooltips, legends and titles."""
    await load(store, [
        org("tpl", f"Grupo {TEMPLATED}", **{"#geo+lat": "6.25", "#geo+lon": "-75.56", "#geo+precision": "locality",
                                            "#adm1+code": "CO-ANT"}),
        org("from", f"Desde {TEMPLATED}", **{"#geo+lat": "4.71", "#geo+lon": "-74.07",
                                             "#geo+precision": "locality", "#adm1+code": "CO-DC"}),
        org("giver", f"Donante {TEMPLATED}", **{"#org+type": "donor"}),
    ], [service("tpl-legal", "tpl", **{"#service+name": f"Asesoría {TEMPLATED}"})], [
        refers("from", "tpl", visibility="public"),
        {"#rel+type": "FUNDS", "#org+id+source": "giver", "#org+id+target": "tpl", "#meta+id": "g1",
         "#meta+visibility": "public", "#value": "500", "#currency": "EUR", "#date+year": "2026"},
    ])
    shown = {"directory": {}, "gaps": {"serviceTypes": "legal-aid", "country": "CO"},
             "referrals": {"from": "test:from", "serviceType": "legal-aid", "country": "CO"},
             "funding": {"serviceTypes": "legal-aid", "country": "CO"}}
    for kind, params in shown.items():
        response = await fetch(live_server, kind, params)
        assert response.status_code == 200, (kind, response.text[:300])
        assert "templated" not in response.text and "tagged" not in response.text, kind
        if kind in ("directory", "referrals"):  # the others name places, not organisations
            assert "{{ " in response.text and "{% if 1 %}" in response.text and "{# said #}" in response.text, kind
    out = tmp_path / "map.html"
    await directory(settings, "map", "directory", "--output", str(out))
    written = out.read_text(encoding="utf-8")
    assert "Grupo {{ " in written and "templated" not in written and "tagged" not in written


async def test_lonely_shelters_are_withheld_from_public_maps_only(store: Store, live_server: LiveServer) -> None:
    await seed(store)
    public = (await fetch(live_server, "directory", {"kind": "shelter"})).text
    assert "Nairobi Shelter Three" in public
    for lonely in ("Casa Uno", "Casa Dos", "Lake Shelter", "Coast Shelter"):
        assert lonely not in public  # two in Colombia; in Tanzania 2 and 1 per region, though 3 in the country
    assert "not drawn here: 5." in public
    _, token = await store.tokens.create("member", "test:a")
    member = (await fetch(live_server, "directory", {"kind": "shelter"}, token)).text
    assert all(name in member for name in ("Casa Uno", "Lake Shelter", "Coast Shelter"))


async def test_members_see_contacts_and_their_own_recorded_point(store: Store, live_server: LiveServer) -> None:
    await seed(store)
    _, token = await store.tokens.create("member", "test:a")
    page = (await fetch(live_server, "directory", {}, token)).text
    assert "signal:+00 1" in page and "6.25123" in page  # its own point, as recorded
    assert "-74.07209" not in page  # another organisation's point stays published
    assert "Network Only Group" in page and "Restricted Secret Group" not in page


async def test_a_map_of_one_service_type_asked_for_two_says_so(store: Store, live_server: LiveServer) -> None:
    """Was a walk's finding: `directory map gaps serviceTypes=legal-aid,medical-care` said the service
    type "is required", as if none had been given."""
    await seed(store)
    for kind in ("gaps", "funding"):
        two = await fetch(live_server, kind, {"serviceTypes": "legal-aid,medical-care"})
        assert two.status_code == 400 and "is required" not in two.text, (kind, two.text[-800:])
        assert "a map draws one service type; 2 were given (legal-aid, medical-care)" in two.text, kind


async def test_bad_filters_are_named_and_hidden_records_read_as_missing(store: Store,
                                                                       live_server: LiveServer) -> None:
    await seed(store)
    missing = await fetch(live_server, "gaps", {})
    # named as the maps' form names the filter
    assert missing.status_code == 400 and "Service: is required, with one service type" in missing.text
    unknown = await fetch(live_server, "directory", {"colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.text
    bad = await fetch(live_server, "directory", {"serviceType": "juggling"})
    assert bad.status_code == 400 and "juggling" in bad.text
    bad_token = await fetch(live_server, "directory", {}, "pd_not-a-token")
    assert bad_token.status_code == 401
    hidden = await fetch(live_server, "referrals", {"from": "test:c", "serviceType": "legal-aid", "country": "CO"})
    absent = await fetch(live_server, "referrals", {"from": "test:zz", "serviceType": "legal-aid", "country": "CO"})
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text.replace("test:c", "ID") == absent.text.replace("test:zz", "ID")


async def test_assets_are_served_by_the_service(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for name in ("leaflet.js", "markercluster.js", "pd-maps.js", "countries.js", "leaflet.css",
                     "images/layers.png"):
            response = await client.get(f"/maps/assets/{name}", headers={"accept-encoding": "gzip"})
            assert response.status_code == 200 and len(response.content) > 100, name
            if not name.endswith(".png"):
                assert response.headers["content-encoding"] == "gzip", name  # slow links get a quarter of it
        assert (await client.get("/maps/assets/../../pyproject.toml")).status_code == 404
        index = await client.get("/maps")
        assert index.status_code == 200 and all(f"/maps/{k}" in index.text
                                                for k in ("directory", "gaps", "referrals", "funding"))


@pytest.mark.parametrize("kind,filters", [("directory", []), ("gaps", ["serviceTypes=legal-aid", "country=CO"])])
async def test_directory_map_writes_a_standalone_file(store: Store, settings: Settings, tmp_path: Path, kind: str,
                                                      filters: list[str]) -> None:
    await seed(store)
    out = tmp_path / "map.html"
    await directory(settings, "map", kind, *filters, "--output", str(out))
    page = out.read_text(encoding="utf-8")
    assert "/maps/assets/" not in page and "L.map(" in page and "markerClusterGroup" in page  # all inline
    assert "url(data:image/png;base64," in page
    for secret in (*SECRET_NAMES, *PRECISE, "signal:"):
        assert secret not in page, secret


async def test_an_online_tile_layer_appears_only_when_configured(store: Store, tmp_path: Path) -> None:
    from directory.domain.viewer import ANONYMOUS
    from maps.page import Options
    from maps.questions import draw
    from maps.routes import policy

    await seed(store)
    offline = await draw("directory", store, ANONYMOUS, {}, Settings(data_dir=tmp_path), Options())
    assert "tileLayer" not in offline and "img-src 'self' data:;" in policy(Settings(data_dir=tmp_path))
    tiles = Settings(data_dir=tmp_path, map_tiles="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                     map_tiles_attribution="Example tiles")
    online = await draw("directory", store, ANONYMOUS, {}, tiles,
                        Options(tiles=tiles.map_tiles, tiles_attribution=tiles.map_tiles_attribution))
    assert "https://{s}.tiles.example.org/{z}/{x}/{y}.png" in online and "Example tiles" in online
    assert "img-src 'self' data: https://*.tiles.example.org;" in policy(tiles)


@pytest.mark.pure
def test_a_gap_maps_flags_claim_no_more_than_its_viewer_sees() -> None:
    """A map is drawn for its viewer: "no provider" would claim that none exists, where one not
    shared with them may; so the tooltip says what they may see."""
    from directory.jobs.gap_cells import Cell, Flag
    from maps.gaps_map import cell_lines
    from maps.page import Words

    lines = cell_lines(Cell("TZ", "safe-house", flags=[Flag.NO_PROVIDER, Flag.UNFUNDED]), "Tanzania", Words())
    assert lines[-1] == "Flags: no provider you may see, no funding you may see"


async def test_the_maps_index_posts_what_is_typed_and_offers_no_silent_default(store: Store,
                                                                                live_server: LiveServer) -> None:
    """Was a walk's finding: the index's forms were GET, so an organisation's name typed as where a
    chain starts went into the address (and the browser's history), against the pages' rule; and a
    required choice opened on the first service and country, drawn as if chosen."""
    await seed(store)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120) as client:
        index = (await client.get("/maps")).text
        assert 'method="get"' not in index and index.count('method="post"') == 4
        referrals = index[index.index('action="/maps/referrals"'):]
        referrals = referrals[:referrals.index("</form>")]
        for required in ("serviceType", "country"):
            chooser = re.search(rf'<select id="referrals-{required}" name="{required}" required>\s*<option value="">'
                                r"Choose one</option>", referrals)
            assert chooser, required
        drawn = await client.post("/maps/referrals", data={"from": "Medellín Defenders", "serviceType": "legal-aid",
                                                           "country": "CO"})
        assert drawn.status_code == 200 and "L.map(" in drawn.text
        assert "Medell" not in str(drawn.url) and drawn.url.path == "/maps/referrals"
        same = re.search(r'href="(/referrals\?[^"]+)"', drawn.text)  # the no-script link asks by address:
        assert same is not None and "from=test%3Aa" in same.group(1)  # by the id, never the name as typed
        refused = await client.post("/maps/referrals", data={"from": "Nobody Such", "serviceType": "legal-aid",
                                                             "country": "CO"})
        assert refused.status_code == 404 and "Nobody Such" in refused.text  # said, as on the job pages


async def test_a_gap_map_leaves_out_the_funding_flag_its_page_leaves_out(store: Store, tmp_path: Path) -> None:
    """A Spanish walk: the gaps page said no row is flagged for funding the viewer cannot see (none
    reached any provider), and its map flagged every place "no funding you may see". One rule now,
    said once in the legend."""
    from directory.domain.viewer import ANONYMOUS
    from directory.exchange import demo
    from maps.page import Options
    from maps.questions import draw

    await demo.load(store)
    drawn = await draw("gaps", store, ANONYMOUS, {"codes": "HN, GT, SV", "serviceTypes": "legal-aid"},
                       Settings(data_dir=tmp_path), Options())
    assert "no funding you may see" not in drawn
    assert "No funding you may see reaches any provider here" in drawn


@pytest.mark.pure
def test_a_gap_maps_confirmation_dates_are_written_as_its_page_writes_them() -> None:
    """A Spanish walk: the map's tooltip read "más reciente 2026-12-01" where the page wrote "1 de
    diciembre de 2026"."""
    import functools

    from directory.jobs.gap_cells import Cell
    from directory.web.pages.render import day
    from maps.gaps_map import cell_lines
    from maps.page import Words

    said = cell_lines(Cell("HN", "legal-aid", newest_confirmation="2026-12-01", oldest_confirmation="2025-03-02"),
                      "Honduras", Words(day=functools.partial(day, language="es")))
    assert any("1 de diciembre de 2026" in line and "2 de marzo de 2025" in line for line in said), said
