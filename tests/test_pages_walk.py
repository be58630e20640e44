"""What a second newcomer's walk through the pages tripped on (2026-12-04): every address that finds
nothing read as a missing organisation, a map said nothing to a browser without JavaScript and
refused in English with the whole input echoed back, the maps' headings led to refusals, a
"Colour by" stayed English, and a refused question emptied the form."""

from __future__ import annotations

import html
import re
import unicodedata

import httpx
import pytest

from directory.exchange import demo
from directory.store import Store
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


def main_of(page: str) -> str:
    found = re.search(r"<main[^>]*>(.*)</main>", page, re.S)
    assert found is not None
    return found.group(1)


async def test_every_address_that_finds_nothing_reads_the_same_and_names_no_kind_of_record(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        # a page that never existed, a steward's page, a record that does not exist, a record's edit form
        paths = ["/nonexistent-page", "/stewards", "/organisations/test:zz", "/services/test:fld-grants/edit",
                 "/organisations/test:fict-casa-respiro"]  # the last is restricted: hidden reads as missing
        pages = [await client.get(path) for path in paths]
    assert [p.status_code for p in pages] == [404] * len(paths)
    mains = {main_of(p.text) for p in pages}
    assert len(mains) == 1, mains
    (said,) = mains
    assert "There is nothing at this address, or it is not shared with you." in said
    assert "organisation" not in said.replace('href="/"', "").replace("Find organisations", "")


async def test_a_map_speaks_the_page_language_and_says_what_to_do_without_javascript(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        drawn = await client.get("/maps/directory", params={"country": "CO", "lang": "es"})
        assert drawn.status_code == 200 and drawn.headers["content-language"] == "es"
        assert '<html lang="es" dir="ltr">' in drawn.text
        noscript = re.search(r"<noscript>(.*?)</noscript>", drawn.text, re.S)
        assert noscript is not None and "Este mapa necesita JavaScript" in noscript.group(1)
        assert 'href="/gaps"' in noscript.group(1)  # somewhere to go that needs none
        english = await client.get("/maps/directory", params={"country": "CO"}, headers={"accept-language": "en"})
        assert '<html lang="en" dir="ltr">' in english.text and "This map needs JavaScript" in english.text
        arabic = await client.get("/maps/directory", params={"country": "CO", "lang": "ar"})
        assert '<html lang="ar" dir="rtl">' in arabic.text
        # the popups' punctuation is the page's: Arabic's comma, French's spaced colon
        assert '"comma":"\u060c "' in arabic.text
        french = await client.get("/maps/directory", params={"country": "CO", "lang": "fr"})
        assert '"colon":"\u202f: "' in french.text
        # a refusal is a page in the person's language, and repeats no long input back
        long = "Z" * 3000
        refused = await client.get("/maps/directory", params={"country": long, "lang": "fr"})
        assert refused.status_code == 400 and "Impossible de dessiner cette carte" in refused.text
        assert long[:300] not in refused.text and "Pays\u202f: dépasse 200 caractères" in refused.text
        wrong = await client.get("/maps/gaps", params={"lang": "es"})  # no service type: a named refusal
        assert wrong.status_code == 400 and "No se puede dibujar este mapa" in wrong.text
        assert "Servicio: es obligatorio, con un solo tipo de servicio" in wrong.text


async def test_a_map_refused_shows_its_form_again_filled_in_with_the_field_marked(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        asked = {"codes": "Colombia, Perú", "serviceTypes": "legal-aid", "metric": "need", "donor": ""}
        assert (await client.post("/maps/gaps?lang=es", data=asked)).status_code == 200  # countries by name
        refused = await client.post("/maps/gaps?lang=es", data={**asked, "codes": "Colombia, Atlántida"})
    assert refused.status_code == 400 and "No se puede dibujar este mapa" in refused.text
    assert "Atlántida" in refused.text  # what it could not read, named, as it was typed
    form = re.search(r'<form method="post" action="/maps/gaps".*?</form>', refused.text, re.S)
    assert form is not None, "the map's form, to correct and send again"
    assert re.search(r'<input id="gaps-codes" name="codes" value="Colombia, Atlántida"[^>]*aria-invalid="true"',
                     form.group(0))
    assert '<a href="#gaps-codes">' in refused.text  # the problem leads to its field
    assert '<option value="legal-aid" selected>' in form.group(0)
    assert '<option value="need" selected>' in form.group(0)
    # the field that takes codes or names says which there are; the indicators are chosen from a list
    assert "Países por nombre o código" in form.group(0)
    assert re.search(r'<select id="gaps-indicators" name="indicators" multiple[^>]*>\s*<option value="[a-z-]+">',
                     form.group(0))


async def test_the_maps_index_leads_to_forms_not_refusals_in_the_page_language(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        index = (await client.get("/maps", params={"lang": "es"})).text
    # every link to a map page is one that draws it: the headings name the maps, the forms draw them
    assert not re.findall(r'<a href="/maps/(?:directory|gaps|referrals|funding)"', index)
    assert all(f'action="/maps/{k}"' in index for k in ("directory", "gaps", "referrals", "funding"))
    assert "Los mapas necesitan JavaScript" in index
    colour = re.search(r'<select id="gaps-metric" name="metric">(.*?)</select>', index, re.S)
    assert colour is not None and "Puntuación de brecha (0-100)" in colour.group(1)
    assert "Gap score" not in colour.group(1)


async def test_a_refused_question_keeps_what_was_asked(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        form = (await client.get("/gaps")).text
        regions = re.search(r'<select id="f-region" name="region">(.*?)</select>', form, re.S)
        assert regions is not None
        region = re.findall(r'<option value="([^"]+)"', regions.group(1))[0]
        refused = await client.post("/gaps", data={"region": region, "country": "CO",
                                                   "serviceTypes": ["legal-aid", "safe-house"]})
    assert refused.status_code == 400 and "choose one way to name the places" in refused.text
    for value in (region, "CO", "legal-aid", "safe-house"):
        assert re.search(rf'<option value="{re.escape(value)}" selected>', refused.text), value


# a page's refusal: its text, linked to the field it is about where there is one
PROBLEM = r'class="problem" role="alert"[^>]*>(?:<p>)?(?:<a href="#[^"]*">)?([^<]*)<'


async def test_a_refusal_reads_in_the_page_language_and_names_the_field_by_its_label(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        empty = await client.post("/partners?lang=es", data={})
        gaps = await client.post("/gaps?lang=fr", data={"region": "150", "country": "CO"})
        nobody = await client.post("/referrals?lang=es", data={"from": "zzzz qqqq", "serviceType": "safe-house",
                                                               "country": "TZ"})
        long_name = await client.post("/partners?lang=es", data={"organisation": " ".join(["palabra"] * 20)})
        map_refused = await client.get("/maps/gaps", params={"lang": "ru"})
        unknown = await client.post("/gaps?lang=es", data={"serviceTypes": "legal-aidd"})
        no_country = await client.post("/gaps?lang=fr", data={"country": "ZZ"})
    problems = {name: re.search(PROBLEM, r.text)
                for name, r in [("empty", empty), ("gaps", gaps), ("nobody", nobody), ("long", long_name),
                                ("map", map_refused), ("unknown", unknown), ("no_country", no_country)]}
    said = {name: found.group(1) if found else "" for name, found in problems.items()}
    assert said["empty"].startswith("Servicios que busca: elija al menos uno, o indique su organización"), said["empty"]
    assert said["gaps"].startswith("Région\u202f: choisissez une seule façon d&#39;indiquer les lieux"), said["gaps"]
    assert said["nobody"] == "No se encontró nada para zzzz qqqq, o no se ha compartido con usted.", said["nobody"]
    assert said["long"].startswith("No se encontró nada para palabra"), said["long"]
    assert said["map"].startswith("Услуга: обязательное поле: выберите одну услугу"), said["map"]
    assert said["unknown"] == ("Servicios: &#39;legal-aidd&#39; no es un código válido; "
                               "¿quiso decir &#39;legal-aid&#39;?")
    assert said["no_country"].endswith(": &#39;ZZ&#39; n&#39;est pas un code de pays ISO 3166-1"), said["no_country"]
    for text in said.values():  # no English reason, no argument's internal name
        assert "required" not in text and "serviceTypes" not in text and "no organisation" not in text


def _plural(node: object) -> bool:
    """`Plural("one", "other", "by")`, its two forms literal."""
    import ast
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Plural"
            and len(node.args) == 3
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args))


def test_every_refusal_a_page_can_meet_is_a_literal_the_catalogue_extracts() -> None:
    """A reason built as an f-string cannot be translated: where a page can meet a `BadArgument`, an
    `EditRefused` or a field's `Problem` (a join or edit form's), its reason is a literal template
    with its values given apart, and the pages' catalogue holds it."""
    import ast
    from pathlib import Path

    from directory.web.pages import catalogue
    from directory.web.pages.problems import REFUSING

    where = {"BadArgument": 1, "EditRefused": 1, "fail": 1, "of": 2}  # the reason's place among the arguments
    # literals passed on: a `fail`'s own reason (each call of it is checked), a record not found
    passed_on = {("validation.py", "reason"), ("iati.py", "reason"), ("problems.py", "NOT_FOUND")}
    root = Path(__file__).resolve().parent.parent
    built, literal = [], set()
    for folder in REFUSING:
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name == "of" and not (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                                         and node.func.value.id == "Problem"):
                    continue
                if name in where and len(node.args) > where[name]:
                    reason = node.args[where[name]]
                    if isinstance(reason, ast.Constant) and isinstance(reason.value, str):
                        literal.add(reason.value)
                    elif _plural(reason):
                        literal.add((reason.args[0].value, reason.args[1].value))  # type: ignore[attr-defined]
                    elif (path.name, getattr(reason, "id", None)) not in passed_on:
                        built.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not built, built
    assert len(literal) > 90 and literal <= catalogue.msgids()["pages"], literal - catalogue.msgids()["pages"]


async def test_a_refusal_repeats_no_more_than_a_short_part_of_what_was_sent(store: Store,
                                                                           live_server: LiveServer) -> None:
    """The forms' fields hold at most 200 characters, but a crafted form can send kilobytes."""
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        crafted = await client.post("/gaps", data={"region": "Q" * 5000})
        nobody = await client.post("/referrals", data={"from": "W" * 5000, "serviceType": "safe-house",
                                                       "country": "TZ"})
    for refused, letter in ((crafted, "Q"), (nobody, "W")):
        assert refused.status_code == 400
        problem = re.search(PROBLEM, refused.text)
        assert problem is not None and letter * 100 in problem.group(1) and letter * 101 not in problem.group(1)


async def test_numbers_terms_and_ids_read_as_the_page_language_writes_them(store: Store,
                                                                           live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        gaps = (await client.post("/gaps?lang=es", data={"region": "419"})).text
        english = (await client.post("/gaps?lang=en", data={"region": "419"})).text
        taxonomy = (await client.get("/taxonomy?lang=es")).text
        organisation = (await client.get("/organisations/test:front-line-defenders?lang=es")).text
    cells = re.findall(r"<td[^>]*><bdi>([^<]*)</bdi></td>", gaps)
    assert any(re.fullmatch(r"\d+,\d+", c) for c in cells)  # a decimal comma
    # what its owner wrote runs in its own direction inside a right-to-left page
    assert '<p class="text" dir="auto">' in organisation
    # days as the language writes them ("1 de diciembre de 2026"), not as the store keeps them
    verified = re.search(r"<dt>[^<]+</dt><dd>(\d{1,2} de \w+ de \d{4})", organisation)
    assert verified is not None and not re.search(r"<dd>\d{4}-\d{2}-\d{2}", organisation)
    assert not any(re.fullmatch(r"\d+\.\d+", c) for c in cells), [c for c in cells if "." in c][:5]
    assert any(re.fullmatch(r"\d+\.\d+", c) for c in re.findall(r"<td[^>]*><bdi>([^<]*)</bdi></td>", english))
    # the services in the order of their Spanish labels, not of their codes
    services = re.search(r"<dl class=\"terms\">(.*?)</dl>", taxonomy, re.S)
    assert services is not None
    labels = re.findall(r"<dt>([^<]+) <code>", services.group(1))
    def plain(text: str) -> str:  # without accents or case: "Ámbito" among the A's
        return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()

    assert len(labels) > 10 and labels == sorted(labels, key=plain)
    # the maps' forms ask for an organisation's id "as on its page": the page shows it
    assert "<code>test:front-line-defenders</code>" in organisation


async def test_named_regions_read_in_the_page_language(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        form = (await client.get("/gaps?lang=es")).text
    regions = re.search(r'<select id="f-region" name="region">(.*?)</select>', form, re.S)
    assert regions is not None
    names = dict(re.findall(r'<option value="([^"]+)">([^<]+)</option>', regions.group(1)))
    assert names["african-union"] == "Unión Africana" and names["ecowas"].startswith("Comunidad Económica")
    assert names["001"] == "Mundo"  # a UN M49 area, by its CLDR name
    assert not any("Economic Community" in n or "Council of Europe" in n for n in names.values())


async def test_a_gap_answer_of_several_services_links_a_map_for_each(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = (await client.post("/gaps?lang=es", data={"region": "419",
                                                           "serviceTypes": ["legal-aid", "safe-house"]})).text
        links = re.findall(r'<a href="(/maps/gaps\?[^"]+)">([^<]+)</a>', answer)
        assert [html.unescape(href) for href, _ in links] == ["/maps/gaps?region=419&serviceTypes=legal-aid",
                                                              "/maps/gaps?region=419&serviceTypes=safe-house"]
        assert all(name and "-" not in name for _, name in links), links  # labels, not codes
        drawn = await client.get(html.unescape(links[0][0]))
        # several types in one field, as a hand-written address or GET form sends them: one map each
        typed = (await client.post("/gaps?lang=en", data={"region": "419",
                                                          "serviceTypes": "legal-aid, safe-house,legal-aid"}
                                   )).text
        same = re.findall(r'<a href="(/maps/gaps\?[^"]+)">([^<]+)</a>', typed)
        # a donor asked about goes to the map too, whose funding it sets against the gaps
        funded = (await client.post("/gaps", data={"region": "419", "serviceTypes": "legal-aid",
                                                   "donor": "test:urgent-action-fund"})).text
        [with_donor] = re.findall(r'<a href="(/maps/gaps\?[^"]+)">', funded)
        assert html.unescape(with_donor) == ("/maps/gaps?region=419&serviceTypes=legal-aid"
                                             "&donor=test%3Aurgent-action-fund")
    assert drawn.status_code == 200
    assert [(html.unescape(href), name) for href, name in same] == [
        ("/maps/gaps?region=419&serviceTypes=legal-aid", "Legal aid"),
        ("/maps/gaps?region=419&serviceTypes=safe-house", "Safe house")]


async def test_a_map_titles_places_and_services_by_name(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        gaps = (await client.get("/maps/gaps", params={"region": "002", "serviceTypes": "legal-aid"})).text
        chains = (await client.get("/maps/referrals", params={"from": "test:front-line-defenders",
                                                             "serviceType": "emergency-grant",
                                                             "country": "CO"})).text
    assert "in Africa" in gaps and "in 002" not in gaps
    # without JavaScript, the same question on the page that answers it, filled in
    assert '<a href="/gaps?region=002&amp;serviceTypes=legal-aid">this question on its page</a>' in gaps
    assert ('<a href="/referrals?from=test%3Afront-line-defenders&amp;serviceType=emergency-grant&amp;country=CO">'
            in chains)
    assert "to Emergency grant in Colombia" in chains and "emergency-grant in CO" not in chains
    # a map is zoomable as a page (folium's viewport forbade it) and has a heading to find it by
    assert "user-scalable=no" not in gaps and "maximum-scale" not in gaps
    assert re.search(r"<h1 [^>]*>Protection Directory: coverage gaps</h1>", gaps)


async def test_a_gaps_map_of_several_countries_links_to_the_page_asking_the_same(
        store: Store, live_server: LiveServer) -> None:
    """An Arabic walk: a gaps map of Sudan and Yemen linked, for a browser without JavaScript, to the
    gaps page, which read no list of places and dropped them silently. The page takes several places
    now, named in the page's language or by code, and its download asks the same."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        drawn = (await client.get("/maps/gaps", params={"codes": "KE, UG", "serviceTypes": "legal-aid"})).text
        same = re.search(r'<a href="([^"]+)">this question on its page</a>', drawn)
        assert same is not None and html.unescape(same.group(1)) == "/gaps?codes=KE%2C+UG&serviceTypes=legal-aid"
        form = (await client.get(html.unescape(same.group(1)))).text
        assert 'name="codes" value="KE, UG"' in form
        asked = {"codes": "Kenia, Uganda", "serviceTypes": "legal-aid"}
        answer = (await client.post("/gaps", data=asked, headers={"Accept-Language": "es"})).text
        assert set(re.findall(r'data-label="Lugar"><bdi>([^<]+)</bdi>', answer)) == {"Kenia", "Uganda"}
        download = await client.post("/gaps.csv", data=asked)
        coded = {line.split(",")[0] for line in download.text.lstrip("\ufeff").splitlines()[2:]}
        assert coded == {"KE", "UG"}


async def test_the_directory_map_without_javascript_links_to_the_browse_form_filled_in(
        store: Store, live_server: LiveServer) -> None:
    """An organisation's "open on the full map" led a browser running no script to a map that only
    said it needs JavaScript; the same question is the browse form, filled in, not yet asked."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        drawn = (await client.get("/maps/directory", params={"country": "KE", "serviceType": "legal-aid"})).text
        same = re.search(r'<a href="([^"]+)">this question on its page</a>', drawn)
        assert same is not None and html.unescape(same.group(1)) == "/?country=KE&serviceType=legal-aid"
        form = (await client.get(html.unescape(same.group(1)))).text
        assert re.search(r'<option value="KE" selected>', form) and re.search(r'<option value="legal-aid" selected>',
                                                                               form)
        assert 'id="found"' not in form  # filled in, not asked


async def test_a_map_takes_an_organisation_by_its_name_as_the_job_pages_do(store: Store,
                                                                          live_server: LiveServer) -> None:
    """The maps form asked for an organisation's id; a person knows its name. One organisation by that
    name is drawn from; several are offered to choose from; a hidden one's name finds nothing, as a
    name nobody has."""
    await demo.load(store)
    asked = {"serviceType": "emergency-grant", "country": "CO"}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        named = await client.get("/maps/referrals", params={"from": "Front Line Defenders", **asked})
        assert named.status_code == 200 and "to Emergency grant in Colombia" in named.text
        several = await client.get("/maps/referrals", params={"from": "defenders", **asked})
        assert several.status_code == 400 and "Which organisation did you mean?" in several.text
        choices = re.findall(r'<li><form method="post" action="/maps/referrals">(.*?)</form></li>', several.text)
        assert "<bdi>Front Line Defenders</bdi>" in several.text and len(choices) == 10  # ten, then "type more"
        assert "More organisations go by that name: type more of it" in several.text
        posted = [dict((k, html.unescape(v)) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', c))
                  for c in choices]
        assert all(p["serviceType"] == "emergency-grant" and p["country"] == "CO" and p["from"].startswith("test:")
                   for p in posted)
        chosen = await client.post("/maps/referrals", data=posted[0])
        assert chosen.status_code == 200 and "to Emergency grant in Colombia" in chosen.text
        for path in ("/maps/nonexistent", "/maps/directory"):  # no such map, or none drawn from anyone
            refused = await client.get(path, params={"from": "defenders"})
            assert refused.status_code == 400 and "Which organisation did you mean?" not in refused.text
        funding = {"serviceTypes": "emergency-grant", "region": "419"}
        hidden = await client.get("/maps/funding", params={"donor": "Quiet Harbour Foundation", **funding})
        nobody = await client.get("/maps/funding", params={"donor": "Quiet Harbour Zzz", **funding})
        # a currency it does not know is named as such, not drawn as funding nowhere (a walk read "seen: none")
        unknown = await client.get("/maps/funding", params={"currency": "dollars", **funding},
                                   headers={"Accept-Language": "es"})
        assert unknown.status_code == 400 and "'dollars' no es un código de moneda ISO 4217" in html.unescape(
            unknown.text)
        usd = await client.get("/maps/funding", params={"currency": "usd", **funding})  # known, none seen in it
        assert usd.status_code == 400 and "no funding in &#39;USD&#39; is visible for this question" in usd.text
    assert hidden.status_code == nobody.status_code == 404
    typed = re.compile(r"Quiet(?: |\+|%20)Harbour(?: |\+|%20)(?:Foundation|Zzz)")  # as said, and in its links
    assert typed.sub("X", hidden.text) == typed.sub("X", nobody.text)


async def test_every_page_and_map_carries_the_pages_headers(store: Store, live_server: LiveServer) -> None:
    """A drawn map is a page too: no referrer to a tile server, no sniffing, never cached, and a cache
    between keeps one copy per language."""
    await demo.load(store)
    paths = ["/", "/gaps", "/join", "/taxonomy", "/maps", "/nonexistent", "/organisations/test:front-line-defenders",
             "/maps/directory?country=CO", "/maps/gaps?serviceTypes=legal-aid&region=419", "/maps/gaps"]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        for path in paths:
            shown = await client.get(path)
            assert shown.headers["content-type"].startswith("text/html"), path
            assert shown.headers["referrer-policy"] == "no-referrer", path
            assert shown.headers["x-content-type-options"] == "nosniff", path
            assert shown.headers["cache-control"] == "no-store", path
            assert "Accept-Language" in shown.headers["vary"] and shown.headers["content-language"], path
            assert "frame-ancestors 'none'" in shown.headers["content-security-policy"], path


async def test_a_map_speaks_the_page_language_in_its_legend_tooltips_and_popups(store: Store,
                                                                               live_server: LiveServer) -> None:
    """Not only the page around it: what a map writes inside it (legend, notes, tooltips, popups'
    labels, the paths' panel) is in the page's language, places and services by their names in it."""
    await demo.load(store)
    asked = {"directory": {"country": "CO"}, "gaps": {"serviceTypes": "legal-aid", "region": "419"},
             "funding": {"serviceTypes": "emergency-grant", "region": "419"},
             "referrals": {"from": "test:front-line-defenders", "serviceType": "emergency-grant", "country": "CO"}}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        drawn = {kind: await client.get(f"/maps/{kind}", params={**params, "lang": "es"})
                 for kind, params in asked.items()}
    assert all(r.status_code == 200 for r in drawn.values()), {k: r.status_code for k, r in drawn.items()}
    said = {kind: r.text for kind, r in drawn.items()}
    assert "Organizaciones en el mapa:" in said["directory"] and '"contact":"Contacto"' in said["directory"]
    assert "Organizaciones: en Colombia" in said["directory"] and "Los marcadores muestran" in said["directory"]
    assert "Brechas: Asistencia jurídica, en Latinoamérica" in said["gaps"], said["gaps"][-3000:]
    assert "Puntuación de brecha" in said["gaps"] and "Señale o toque un lugar" in said["gaps"]
    assert "Color: puntuación de brecha" in said["funding"]
    assert "Cadena 1" in said["referrals"] and "Cadenas de remisión de Front Line Defenders" in said["referrals"]
    assert "Contornos: Natural Earth" in said["directory"] and "Todos los mapas" in said["gaps"]
    languages = re.search(r'"languages":\[([^\]]*)\]', said["directory"])
    assert languages is not None and "español" in languages.group(1) and '"es"' not in languages.group(1)
    english = ("on the map", "Markers show", "Point at or tap", "Gap score", "Path 1", "Referral chains from",
               "Shown ", "Need weight", "All maps", "Outlines:", "Colour:", "refers to", "can act")
    for kind, text in said.items():
        assert not [e for e in english if e in text], (kind, [e for e in english if e in text])


async def test_switching_language_keeps_the_question_in_the_address(store: Store, live_server: LiveServer) -> None:
    """A prefilled question or a refused map, read in another language, is the same question; the
    link is the query alone, so an address such as `//elsewhere.example/` never becomes a link away."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        away = await client.get(httpx.URL(live_server.url + "/x").copy_with(raw_path=b"//elsewhere.example/?q=1"))
        assert away.status_code == 404 and 'href="//elsewhere' not in away.text and "elsewhere.example" not in away.text
        asked = await client.get("/gaps", params={"region": "419", "serviceTypes": "legal-aid", "lang": "es"})
        refused = await client.get("/maps/referrals", params={"from": "test:nobody", "serviceType": "safe-house",
                                                               "country": "CO", "lang": "fr"})
    by_language = {}
    for name, shown in (("asked", asked), ("refused", refused)):
        found = re.findall(r'<a href="([^"]+)" lang="(\w+)" hreflang', shown.text)
        by_language[name] = {code: html.unescape(href) for href, code in found}
    assert by_language["asked"]["en"] == "?region=419&serviceTypes=legal-aid&lang=en"
    assert by_language["refused"]["ar"] == "?from=test:nobody&serviceType=safe-house&country=CO&lang=ar"
    assert "es" not in by_language["asked"] and set(by_language["refused"]) == {"en", "es", "ru", "ar"}


async def test_the_maps_form_asks_for_what_a_map_needs_in_the_order_people_read(store: Store,
                                                                                live_server: LiveServer) -> None:
    """No "Any" where a map cannot be drawn without a choice; choices in the order of the page's
    language; and two ways of naming the places a gap map covers are refused, never one taken."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        index = (await client.get("/maps", params={"lang": "es"})).text
        both = await client.get("/maps/gaps", params={"codes": "CO", "country": "PE", "serviceTypes": "legal-aid",
                                                      "lang": "en"})
        # a region is chosen from the list /gaps offers, and what is chosen draws
        regions = re.search(r'<select id="gaps-region" name="region">(.*?)</select>', index, re.S)
        assert regions is not None and 'value="419"' in regions.group(1)
        drawn = await client.get("/maps/gaps", params={"region": "419", "serviceTypes": "legal-aid"})
        assert drawn.status_code == 200
    gaps = re.search(r'<select id="gaps-serviceTypes" name="serviceTypes" required>(.*?)</select>', index, re.S)
    # a map's required choice opens unchosen, never on "Any" nor on its first service as if chosen
    assert gaps is not None and re.match(r'\s*<option value="">Elija una opción</option>', gaps.group(1))
    assert gaps.group(1).count('value=""') == 1
    directory = re.search(r'<select id="directory-serviceType" name="serviceType">(.*?)</select>', index, re.S)
    assert directory is not None and 'value=""' in directory.group(1)  # any service: every organisation
    kinds = re.findall(r'<option value="[^"]+">([^<]+)</option>',
                       re.search(r'<select id="directory-kind"[^>]*>(.*?)</select>', index, re.S).group(1))
    assert kinds == sorted(kinds, key=lambda k: unicodedata.normalize("NFKD", k).casefold())
    assert both.status_code == 400 and "choose one way to name the places" in both.text


async def test_a_filter_typed_in_lower_case_shows_chosen_as_it_is_asked(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        found = await client.post("/", data={"country": "co"})
    assert found.status_code == 200 and '<option value="CO" selected>' in found.text


async def test_a_form_that_is_not_utf8_is_refused_whole_never_stored_with_replacement_characters(
        store: Store, live_server: LiveServer) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for body in (b"name=Caf%E9&kind=local-group&contact=signal%201", b"name=Caf\xe9&contact=x"):
            refused = await client.post("/join?lang=es", content=body, headers=form)
            assert refused.status_code == 400 and "UTF-8" in refused.text and "\ufffd" not in refused.text
    assert not await store.graph.read("MATCH (r:JoinRequest) RETURN r.id AS id")


@pytest.mark.pure
def test_a_decimal_comma_is_refused_saying_what_to_write() -> None:
    from directory.domain.validation import Checker, Row

    checker = Checker(Row(2, {"latitude": ("#geo+lat", "0,32"), "longitude": ("#geo+lon", "1.5")}), "test")
    assert checker.number("latitude", -90, 90) is None and checker.number("longitude", -180, 180) == 1.5
    assert [p.reason for p in checker.problems] == [
        "'0,32' is not a number: write it with a point for decimals and nothing between thousands (0.32, 1000.5)"]


@pytest.mark.pure
def test_a_sum_or_count_with_a_point_between_groups_of_three_digits_is_refused_not_read_as_decimals() -> None:
    """An operator's walk: a grant of "15.000" (fifteen thousand, as much of Latin America writes it)
    was stored as 15. A sum or a count so written is refused, saying what to write; a latitude's
    three decimals are decimals."""
    from directory.domain.validation import Checker, Row

    checker = Checker(Row(2, {"amount": ("#value", "15.000"), "capacity": ("#capacity", "1.500.000"),
                              "hours": ("#service+response_hours", "24"), "latitude": ("#geo+lat", "4.610")}), "test")
    assert checker.number("amount", 0, 1e12, counted=True) is None
    assert checker.integer("capacity", 0, 10**9) is None and checker.integer("hours", 0, 1000) == 24
    assert checker.number("latitude", -90, 90) == 4.61
    assert [(p.column, p.reason) for p in checker.problems] == [
        ("#value", "'15.000' may be thousands written with a point: write the number with nothing between thousands "
                   "(15000), or with its decimals (15.0)"),
        ("#capacity", "'1.500.000' may be thousands written with a point: write the number with nothing between "
                     "thousands (15000), or with its decimals (15.0)")]
    # an attacker's read: "+15.000" was still fifteen; a sum of three decimals must still be written
    # and read back (an export of 750.125 dinars no longer imported): "0.125" is never thousands
    from directory.domain.validation import unambiguous

    more = Checker(Row(2, {"plus": ("#value", "+15.000"), "small": ("#value", "0.125"),
                           "dinars": ("#value", str(unambiguous(750.125)))}), "test")
    assert more.number("plus", -1e12, 1e12, counted=True) is None
    assert more.number("small", 0, 1e12, counted=True) == 0.125
    assert more.number("dinars", 0, 1e12, counted=True) == 750.125 and len(more.problems) == 1


@pytest.mark.pure
def test_a_date_in_arabic_indic_digits_is_read_as_its_numbers_are() -> None:
    """An Arabic walk: a capacity in Arabic-Indic digits was taken, and its date refused."""
    from directory.domain.validation import Checker, Row

    arabic = "\u0662\u0660\u0662\u0666-\u0661\u0662-\u0660\u0661"  # 2026-12-01
    persian = "\u06f2\u06f0\u06f2\u06f5-\u06f0\u06f1-\u06f0\u06f2"  # 2025-01-02
    checker = Checker(Row(2, {"capacity_confirmed": ("#capacity+date", arabic),
                              "verified_on": ("#date+verified", persian),
                              "capacity": ("#capacity", "\u0661\u0660")}), "test")
    assert checker.day("capacity_confirmed") == "2026-12-01" and checker.day("verified_on") == "2025-01-02"
    assert checker.integer("capacity", 0, 100) == 10 and checker.problems == []


async def test_an_answer_is_read_again_in_another_language_without_typing_the_question_again(
        store: Store, live_server: LiveServer) -> None:
    """Walk: the language links ask for the form empty (a posted question stays out of addresses), so
    after an answer a person switching to French lost the question; the answer offers itself again."""
    await demo.load(store)
    asked = {"region": "419", "serviceTypes": "legal-aid"}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        english = await client.post("/gaps", data=asked)
        again = re.search(r'<form method="post" action="/gaps#answer" class="languages-again">(.*?)</form>',
                          english.text, re.S)
        assert again is not None
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', again.group(1)))
        assert fields == asked
        targets = dict((code, html.unescape(action)) for action, code in
                       re.findall(r'formaction="([^"]+)" lang="(\w+)"', again.group(1)))
        assert set(targets) == {"es", "fr", "ar", "ru"} and targets["fr"] == "/gaps?lang=fr#answer"
        french = await client.post(targets["fr"].split("#")[0], data=fields)
        assert french.status_code == 200 and 'lang="fr"' in french.text and "Réponse" in french.text
        rows = re.findall(r'<a href="/organisations/([^"]+)"', english.text.split('id="answer"')[1])
        assert rows and rows == re.findall(r'<a href="/organisations/([^"]+)"', french.text.split('id="answer"')[1])
        assert "legal-aid" not in str(french.url)  # the question is posted, not put in the address
