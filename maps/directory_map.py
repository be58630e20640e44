"""The directory map: organisations as clustered markers, each where this viewer may see it.

Points come from `Store.map_points`, which already chose the published point (or the recorded
one for a steward or the organisation's own members) and withheld lonely shelters on public
maps. Rows are compact arrays with every repeated word (kind, service, place, language) in a
lookup table, so 100k organisations fit in a page a browser opens.
"""

from __future__ import annotations

from directory.base import budget
from directory.base.bulk import paused_gc
from directory.domain import geometry
from directory.domain.taxonomy import DEFENDER_GROUP, ORGANISATION_KIND, SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.store import MapPoint, MapPoints, PointFilter, Store
from maps.page import Call, Options, Words, base_map, basemap, render

KIND_CLASS = {
    "international-ngo": "ingo", "regional-network": "network", "national-ngo": "local", "local-group": "local",
    "donor": "donor", "shelter": "shelter", "intergovernmental": "mechanism", "government": "mechanism",
    "nhri": "mechanism",
}
CLASS_LABEL = {
    "ingo": ("#1f5fa8", "International NGO"), "network": ("#6a3d9a", "Regional network"),
    "local": ("#238b45", "National NGO or local group"), "donor": ("#d4a017", "Donor"),
    "shelter": ("#c2185b", "Shelter or relocation host"), "mechanism": ("#555555", "Mechanism or public body"),
    "other": ("#e6550d", "Other"),
}
PRECISION_NOTE = {
    "exact": "Shown at its recorded point.",
    "locality": "Shown within about 11 km of where it is: the marker is not its address.",
    "admin_area": "Shown somewhere within about 110 km, inside its province: not its address.",
    "country": "Shown in the middle of its country: only the country is published.",
}


def place_names(found: list[MapPoint], words: Words) -> list[str]:
    """Each point's place ("Antioquia, Colombia"), named once per distinct place: 100k points sit in a
    few thousand places, and naming one in a language is a CLDR look-up."""
    named: dict[tuple[str | None, str | None], str] = {}
    for p in found:
        key = (p.subdivision, p.country)
        if key not in named:
            named[key] = words.comma.join(words.place(code) for code in key if code)
    return [named[(p.subdivision, p.country)] for p in found]


async def labels(store: Store, *schemes: str) -> list[dict[str, str]]:
    """Code to label, one map per scheme asked for, from one read of the taxonomy."""
    terms = await store.terms()
    return [{t.code: t.label for t in terms if t.scheme == scheme} for scheme in schemes]


async def directory_map(store: Store, viewer: Viewer, where: PointFilter,
                        options: Options) -> str:
    with paused_gc():  # 100k points are millions of small objects and no cycles (see directory/bulk.py)
        return await _directory_map(store, viewer, where, options)


async def _directory_map(store: Store, viewer: Viewer, where: PointFilter, options: Options) -> str:
    found = await store.map_points(viewer, where)
    kind_labels, service_labels, group_labels = await labels(store, ORGANISATION_KIND, SERVICE_TYPE, DEFENDER_GROUP)
    title = _title(where, kind_labels, service_labels, group_labels, options.words)
    # Building the page is pure computation (seconds at 100k points): in a worker thread.
    return await budget.in_thread(_page, found, kind_labels, service_labels, viewer.role == "anonymous", where,
                                  store.shelter_minimum, title, options)


def _page(found: MapPoints, kind_labels: dict[str, str], service_labels: dict[str, str], public: bool,
          where: PointFilter, shelter_minimum: int, title: str, options: Options) -> str:
    kinds = sorted({p.kind for p in found.points})
    services = sorted({t for p in found.points for t in p.service_types})
    precisions = sorted(PRECISION_NOTE)
    words = options.words
    where_of = place_names(found.points, words)
    where_names = sorted(set(where_of))
    languages = sorted({lang for p in found.points for lang in p.languages})
    kind_index = {k: i for i, k in enumerate(kinds)}
    service_index = {s: i for i, s in enumerate(services)}
    where_index = {w: i for i, w in enumerate(where_names)}
    language_index = {lang: i for i, lang in enumerate(languages)}
    data = {
        "kinds": [words.translate(kind_labels.get(k, k)) for k in kinds],
        "kindClass": [KIND_CLASS.get(k, "other") for k in kinds],
        "services": [words.translate(service_labels.get(s, s)) for s in services],
        "precisions": [words.translate(PRECISION_NOTE[p]) for p in precisions],
        "labels": {"place": words.say("Place"), "services": words.say("Services"), "languages": words.say("Languages"),
                   "contact": words.say("Contact"), "ask": words.say("How to ask")},
        "places": where_names,
        "languages": [words.language(code) for code in languages],
        "link": None if options.inline else "/organisations/",  # a popup's name opens the organisation's page
        "rows": [_trimmed([p.name, kind_index[p.kind], p.latitude, p.longitude, precisions.index(p.precision),
                           where_index[where], [service_index[t] for t in p.service_types],
                           [language_index[lang] for lang in p.languages], p.contact_channels,
                           [_channel(item, words) for item in p.intake], p.id])
                 for p, where in zip(found.points, where_of, strict=True)],
    }
    shown_classes = sorted({KIND_CLASS.get(k, "other") for k in kinds}, key=list(CLASS_LABEL).index)
    notes = [words.say("Organisations on the map: %(count)s.", count=words.figure(len(found.points)))]
    if found.not_drawn:
        notes.append(words.say("Not drawn, as they publish no location: %(count)s.",
                               count=words.figure(found.not_drawn)))
    if public and found.withheld:
        notes.append(words.say("Shelters and relocation hosts are drawn only where at least %(most)s share a place; "
                               "not drawn here: %(count)s.", most=shelter_minimum,
                               count=words.figure(found.withheld)))
    elif public:
        notes.append(words.say("Shelters and relocation hosts are drawn only where at least %(most)s share a place; "
                               "none is withheld here.", most=shelter_minimum))
    notes.append(words.say("Markers show published locations, never more precisely than each organisation allows."))
    if where.country:  # a Russian walk read "0 on the map" as nobody helping there
        notes.append(words.say("Each is drawn where it is based: organisations working in %(place)s from elsewhere "
                               "are not drawn here, and the directory's pages list them.",
                               place=words.place(where.country)))
    legend = {"title": title,
              "items": [{"colour": CLASS_LABEL[c][0], "label": words.translate(CLASS_LABEL[c][1]), "shape": "dot"}
                        for c in shown_classes],
              "notes": notes}
    m = base_map(words.say("Protection Directory: organisations"), options)
    basemap(m)
    m.add_child(Call("pdMarkers", data))
    m.add_child(Call("pdLegend", legend))
    # a country asked: the whole of it, with its markers (two markers alone zoomed to a patch of
    # ground with no outline in sight, nothing to say where it was)
    outline = geometry.shape(where.country) if where.country else None
    if outline is not None or (found.points and where.ids):
        lats = [p.latitude for p in found.points]
        lons = [p.longitude for p in found.points]
        if outline is not None:
            west, south, east, north = outline.bbox
            lats, lons = [*lats, south, north], [*lons, west, east]
        m.add_child(Call("pdFit", [[min(lats), min(lons)], [max(lats), max(lons)]]))
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)


def _channel(item: str, words: Words) -> str:
    """"email: x@y" (as the store gives an intake channel) with its kind named: "E-mail: x@y"."""
    kind, sep, value = item.partition(": ")
    return f"{words.channel(kind)}: {value}" if sep else item


def _trimmed(row: list[object]) -> list[object]:
    while row and row[-1] == []:
        row.pop()
    return row


def _title(where: PointFilter, kinds: dict[str, str], services: dict[str, str], groups: dict[str, str],
           words: Words) -> str:
    parts = []
    if where.service_type:
        parts.append(words.translate(services.get(where.service_type, where.service_type)))
    if where.kind:
        parts.append(words.translate(kinds.get(where.kind, where.kind)))
    if where.group:
        parts.append(words.say("for %(group)s", group=words.translate(groups.get(where.group, where.group))))
    if where.country:
        parts.append(words.say("in %(place)s", place=words.place(where.country)))
    if not parts:
        return words.say("Organisations")
    return words.say("Organisations: %(filters)s", filters=words.comma.join(parts))
