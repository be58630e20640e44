"""The pages' gettext catalogues: which words need translating, and bringing the `.po` files up to date.

`python -m directory.web.pages.catalogue` extracts every msgid from the templates (Babel's Jinja
extractor), `words.py`, the jobs' reasons (Babel's Python extractor, for `Reason("...")`) and the
printed headings of the jobs' tables into `pages.po`, and the taxonomy's built-in labels and
definitions into `taxonomy.po`, for each language, keeping the translations already there. A
translator then fills in the empty ones; a test fails while any is empty.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from directory.domain import places
from directory.domain.taxonomy import BUILT_IN
from directory.web.pages import (
    edit_rows,
    editing,
    i18n,
    jobs,
    joining,
    problems,
    reading,
    render,
    routes,
    stewards,
    words,
)
from maps.directory_map import CLASS_LABEL, PRECISION_NOTE
from maps.gaps_map import FLAG_WORDS, MARKS, METRICS

_FOLDER = Path(str(resources.files("directory.web")))


Msgid = str | tuple[str, str]  # a plural's is its two English forms (`errors.Plural`, `ngettext`)
PLURAL = {"Plural": (1, 2)}  # where a plural message is made in Python


def msgids() -> dict[str, set[Msgid]]:
    """Every word each catalogue should hold, by domain."""
    pages: set[Msgid] = set()
    for _, _, message, _, _ in extract_from_dir(_FOLDER / "templates", [("**.html", "jinja2")],
                                                options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}):
        pages.add(message if isinstance(message, str) else (message[0], message[1]))  # `ngettext`'s forms
    for table in (words.PRECISION, words.STATUS, words.INTAKE, words.LINKS, words.MAP_FILTERS, words.MAP_TITLES,
                  words.VISIBILITY, words.SEEN_BY, words.CHANNEL_SEEN_BY, words.REQUEST_STATUS, words.ROLES,
                  words.IMPORT_COLUMNS,
                  words.SHORT_LABELS,
                  jobs.FLAGS, jobs.FLAG_MEANINGS, jobs.ORDERS, jobs.COLUMNS, jobs.PARTNER_COLUMNS,
                  jobs.REFERRAL_COLUMNS):
        pages.update(table.values())
    for headed in (jobs.COLUMNS, jobs.PARTNER_COLUMNS, jobs.REFERRAL_COLUMNS):  # the headings they explain
        pages.update(headed)
    for job in jobs.JOBS.values():
        pages.update([job.title, job.intro, *(f.label for f in job.fields)])
        pages.update(f.unknown for f in job.fields if f.unknown)
    pages.update(m.label for m in METRICS.values())  # the maps form's "Colour by"
    pages.update(map_words())
    pages.update(reason_templates())
    pages.update(argument_templates())
    pages.update([problems.NOT_FOUND, reading.NEED_UNKNOWN, jobs.UNSEEN_FUNDING, render.DEFAULT_NAME,
                  words.SEEN_BY_ANYONE, words.AS_ITS_ORGANISATION])
    pages.update(p.name for p, _ in places.named_regions().values())  # `render.place_name` translates them
    pages.update(a.name for code, a in places.areas().items()  # and the areas CLDR does not name
                 if any(not i18n.country_name(code, language) for language in i18n.LANGUAGES))
    pages.update([*routes.SEARCH_LABELS.values(), *stewards.TOKEN_LABELS.values()])  # the fields a refusal names
    pages.update(c.header for t in jobs.empty_tables() for c in t.columns if c.printed)
    pages.update(editing.LABELS.values())
    pages.update([editing.REGIONS, editing.COUNTRIES, render.INSIDE, editing.RECORDED])  # the places form's groups
    pages.update(render.ROW_COLUMNS.values())  # a carried form names its rows' fields as the form does
    pages.update(joining.LABELS.values())
    taxonomy: set[Msgid] = {t.label for t in BUILT_IN}
    taxonomy.update(t.description for t in BUILT_IN if t.description)
    return {"pages": pages, "taxonomy": taxonomy}


REFUSALS = {"BadArgument": (2,), "EditRefused": (2,), "of": (3,)}  # where each takes its reason (`Problem.of`)


def argument_templates() -> set[Msgid]:
    """The refusals a page can show, each the literal reason of a `BadArgument`, an `EditRefused` or
    a `Problem` (`Problem.of`, `Checker.fail`) where it is made (`problems.REFUSING`), and, for a
    reason about one item of a list, the rest of it, which an edit form shows beside the item's row."""
    checked = _literal({"fail": (2,)})  # a field's problems (`Checker.fail`), some about one item of a list
    items = {t.removeprefix(p) for t in checked if isinstance(t, str) for p in (edit_rows.ITEM, edit_rows.TEXT)
             if t.startswith(p)}
    return _literal(REFUSALS) | checked | items


def map_words() -> set[Msgid]:
    """What a map says (`maps.page.Words`): every `say("...")` in maps/, and its tables' words."""
    found = _literal({"say": (1,)}, ("maps",))
    found.update(label for _, label in CLASS_LABEL.values())
    found.update(PRECISION_NOTE.values())
    found.update(words for _, _, words in MARKS.values())
    found.update(FLAG_WORDS.values())
    return found


def _literal(keywords: Mapping[str, tuple[int, ...] | None],
             folders: tuple[str, ...] = problems.REFUSING) -> set[Msgid]:
    """The literal messages of calls to `keywords`, and every `Plural(...)`'s, in `folders`."""
    root = _FOLDER.parent.parent
    found: set[Msgid] = set()
    for folder in folders:
        for _, _, message, _, _ in extract_from_dir(root / folder, [("**.py", "python")],
                                                    keywords={**keywords, **PLURAL}):
            if isinstance(message, str):
                found.add(message)
            elif len(message) == 2 and all(isinstance(m, str) for m in message):
                found.add((message[0], message[1]))
    return found


def reason_templates() -> set[Msgid]:
    """The jobs' reasons, each the literal first argument of `Reason(...)` where it is made, or its
    `Plural(...)`."""
    return _literal({"Reason": None}, ("directory/jobs",))


def _path(language: str, domain: str) -> Path:
    return _FOLDER / "locales" / language / "LC_MESSAGES" / f"{domain}.po"


def _read(language: str, domain: str) -> Catalog:
    path = _path(language, domain)
    if not path.is_file():
        return Catalog(locale=language, domain=domain, project="Protection Directory", fuzzy=False)
    return read_po(io.BytesIO(path.read_bytes()), locale=language, domain=domain)


def translated(language: str, domain: str) -> set[Msgid]:
    """The msgids a catalogue translates; a plural only when it gives every form its language has."""
    catalog = _read(language, domain)
    found: set[Msgid] = set()
    for m in catalog:
        if isinstance(m.id, str) and m.id and m.string:
            found.add(m.id)
        elif isinstance(m.id, tuple | list) and isinstance(m.string, tuple | list) \
                and len(m.string) == catalog.num_plurals and all(m.string):
            found.add((m.id[0], m.id[1]))
    return found


def update(domains: tuple[str, ...] = i18n.DOMAINS) -> None:
    """Add the msgids the catalogues lack (empty, for a translator); drop none."""
    wanted = msgids()
    for language in i18n.LANGUAGES[1:]:
        for domain in domains:
            ids = wanted[domain]
            catalog = _read(language, domain)
            catalog.project, catalog.fuzzy = "Protection Directory", False
            # a plural's msgid is its (singular, plural) pair: sorted by its singular among the others
            for msgid in sorted(ids, key=lambda m: m if isinstance(m, str) else m[0]):
                if msgid not in catalog:
                    catalog.add(msgid, "" if isinstance(msgid, str) else ("", ""))
            path = _path(language, domain)
            path.parent.mkdir(parents=True, exist_ok=True)
            out = io.BytesIO()
            write_po(out, catalog, width=120)
            path.write_bytes(out.getvalue())


if __name__ == "__main__":
    update()
