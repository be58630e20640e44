"""The page every map is drawn on: a folium map with no tile server, country outlines as basemap.

Folium would load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; `base_map` replaces
those with our own assets (maps/assets.py) and uses none of folium's jQuery-based popups. Data
reaches the page as JSON passed to the functions in maps/static/pd-maps.js (`Call`), escaped so
no record's text can end the script it sits in.

No text of ours or of a record is ever given to branca as an `Element`'s text, nor left in a
`MacroElement`'s output: branca compiles both as Jinja templates, so a peer's organisation named
"{{ cycler.__init__.__globals__.os.popen('id').read() }}" ran a command on the server when any
map showed it (a hostile peer's read). Such text goes into the page through `Raw`, as it is.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import folium
from branca.element import Element, Figure, MacroElement

from directory.domain import geometry, places
from maps import assets

LAND = "#f2efe9"
NO_DATA = "#dddddd"
BORDER = "#8c8c8c"


def _english_place(code: str) -> str:
    found = places.place(code)
    return found.name if found else code


def _english_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Words:
    """What a map says, in its page's language: a literal (`say`, a msgid of the pages' catalogue,
    which extracts every `say("...")` in maps/) or a taxonomy label (`translate`), a job's reason
    (`reason`), a place, a language or a kind of channel by its code, a number. English (and codes)
    by default, as the CLI's files are."""

    translate: Callable[[str], str] = str
    reason: Callable[[str], str] = str
    place: Callable[[str], str] = _english_place
    number: Callable[[float], str] = _english_number
    language: Callable[[str], str] = str  # a language code's name
    comma: str = ", "  # between the items of a list ("، " in Arabic)
    colon: str = ": "  # between a label and what it labels (French spaces it)
    channel: Callable[[str], str] = str  # a kind of intake channel's name ("email": "E-mail")
    day: Callable[[str], str] = str  # a day (YYYY-MM-DD) as the page writes it ("1 de diciembre de 2026")
    isolated: bool = False  # each text value set apart from the sentence around it (right-to-left pages)

    def figure(self, value: float) -> str:
        """A figure as the page writes it: a whole number whole (money), others to six significant digits."""
        return self.number(value if float(value).is_integer() else float(f"{value:.6g}"))

    def say(self, text: str, /, **values: object) -> str:
        said = self.translate(text)
        if not values:
            return said
        if self.isolated:  # a Latin name inside an Arabic sentence keeps its own direction (Unicode's isolates)
            values = {k: f"\u2068{v}\u2069" if isinstance(v, str) else v for k, v in values.items()}
        try:
            return said % values
        except (KeyError, ValueError, TypeError):  # a translation that lost or misspelt a placeholder
            return text % values


@dataclass(frozen=True)
class Options:
    """How a map is delivered: linked assets for the service, everything inline for a file."""

    inline: bool = False
    tiles: str = ""  # an online tile layer, only when the operator configured one
    tiles_attribution: str = ""
    language: str = "en"  # the page's, for its `lang`
    direction: str = "ltr"  # the page's language's: "rtl" for Arabic
    without_script: str = ""  # HTML, already escaped: what a browser running no JavaScript shows instead
    words: Words = Words()


def _unbraced(text: str) -> str:
    """Operator's text that folium renders through a template (a tile layer's address keeps its
    `{z}/{x}/{y}`, which alone are no template syntax): a `{{`, `{%` or `{#` is broken apart."""
    return re.sub(r"\{(?=[{%#])", "{ ", text)


def safe_json(data: Any) -> str:
    """JSON that can sit inside a <script> element whatever the strings in it hold."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


class Raw(Element):
    """Text that goes into the page as it is: an `Element` made from a string compiles it as a
    Jinja template (module docstring)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Call(MacroElement):
    """`function(target, data)` in the page's script, target being the map or one of its layers;
    put in the figure's script as `Raw` text, never through a template (module docstring)."""

    def __init__(self, function: str, data: Any, target: Any = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        assert _NAME.match(function), function
        self._name = "PdCall"
        self.function = function
        self.payload = safe_json(data)
        self._target = target

    def render(self, **kwargs: Any) -> str:
        target = self._target or self._parent
        assert target is not None, "a Call is drawn only once added to a map"
        figure = cast(Figure, self.get_root())
        figure.script.add_child(Raw(f"{self.function}({target.get_name()}, {self.payload});\n"),
                                name=self.get_name())
        return ""


def base_map(title: str, options: Options, subtitle: str = "") -> folium.Map:
    """The page, titled (`title` and `subtitle` already in the page's language), with the basemap's
    credit and, when served, a way back to the other maps."""
    m = folium.Map(location=[15, 10], zoom_start=2, min_zoom=1, max_zoom=12, tiles=None, control_scale=False,
                   zoom_control=False, world_copy_jump=False)
    m.options.update({"maxZoom": 12, "minZoom": 1})  # folium gives these to tile layers only
    m.default_js = [(name, assets.PREFIX + name) for name in assets.SCRIPTS]
    m.default_css = [(name, assets.PREFIX + name) for name in assets.STYLES]
    root = cast(Figure, m.get_root())
    root.header.add_child(Raw(f"<title>{html.escape(title)}</title>"))
    # the page's heading for a screen reader's list of headings; the map is what the eye reads
    root.html.add_child(Raw(f'<h1 style="{_UNSEEN}">{html.escape(title)}</h1>'))
    if subtitle:
        root.html.add_child(Raw(f'<div class="pd-banner">{html.escape(subtitle)}</div>'))
    if options.without_script:
        root.html.add_child(Raw(options.without_script))
    if options.tiles:  # the operator's, but folium's layer goes through a template: braces as entities
        folium.TileLayer(tiles=_unbraced(options.tiles), attr=_unbraced(html.escape(options.tiles_attribution)),
                         name=options.words.say("Online map"), max_zoom=12).add_to(m)
    # the zoom buttons in the page's language, the scale in kilometres (Leaflet's own are English, and miles)
    m.add_child(Call("pdControls", {"zoomIn": options.words.say("Zoom in"), "zoomOut": options.words.say("Zoom out"),
                                    "colon": options.words.colon, "comma": options.words.comma}))
    credit = options.words.say("Outlines: Natural Earth (public domain), simplified")
    m.add_child(Call("pdAttribution", {"text": credit}))
    if not options.inline:  # served: a way back to the other maps and the pages (a file stands alone)
        m.add_child(Call("pdBack", {"href": "/maps", "text": options.words.say("All maps")}))
    return m


def outlines(kind: str, codes: set[str] | None, style: Callable[[str], dict[str, Any]], name: str) -> folium.GeoJson:
    """Country or subdivision outlines (limited to `codes`), styled per code."""
    source = geometry.collection(kind)
    features = [f for f in source["features"] if codes is None or f["properties"]["code"] in codes]
    data = {"type": "FeatureCollection", "features": features}
    return folium.GeoJson(data, name=name, style_function=lambda f: style(f["properties"]["code"]),
                          highlight_function=None, smooth_factor=1.0, control=False)


def basemap(m: folium.Map) -> None:
    """Country outlines under everything else, from the cached countries.js asset (not in the page)."""
    m.add_child(Call("pdBasemap", {"fillColor": LAND, "color": BORDER, "weight": 0.6, "fillOpacity": 1.0}))


_UNSEEN = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap"
# folium's viewport stops people zooming the page (WCAG 1.4.4): the map zooms itself, the words must too
_NO_ZOOM = re.compile(r'<meta name="viewport" content="width=device-width,\s*initial-scale=1.0, maximum-scale=1.0, '
                      r'user-scalable=no" />')
_LINKED = re.compile(r'<script src="/maps/assets/([a-z0-9.-]+)"></script>|'
                     r'<link rel="stylesheet" href="/maps/assets/([a-z0-9.-]+)"/>')


def render(m: folium.Map, options: Options) -> str:
    """The whole page; with `options.inline` every asset is inside it."""
    page: str = m.get_root().render()
    page = _NO_ZOOM.sub('<meta name="viewport" content="width=device-width, initial-scale=1.0" />', page, count=1)
    page = page.replace("<html>", f'<html lang="{html.escape(options.language)}" '
                                  f'dir="{"rtl" if options.direction == "rtl" else "ltr"}">', 1)
    if options.inline:
        def inline(match: re.Match[str]) -> str:
            if match.group(1):
                return f"<script>{assets.inline_script(match.group(1))}</script>"
            return f"<style>{assets.inline_style(match.group(2))}</style>"

        page = _LINKED.sub(inline, page)
    return page
