"""Regenerate directory/data/subdivision_names.csv: ISO 3166-2 subdivisions' names in the pages'
languages other than English, from the Unicode CLDR's subdivision names.

pycountry (iso-codes) names subdivisions in Russian, French and Spanish for some countries and in
Arabic for none: a Sudanese group read its provinces in English ("Blue Nile", "Central Darfur") and
could not type "الخرطوم". CLDR names most of them in each language.

CLDR keeps codes ISO has since given to other places (Iran's provinces, Morocco's regions were
renumbered) and some of its contributed names are wrong (Guinea's Fria as a Hungarian town in
Spanish; a Ugandan district under its neighbour's name, marked "²"). A wrong name is worse than an
English one: an attacker's read typed "Tehran" and was given Fars. So a code is kept only where
CLDR's English name is ISO's (pycountry's), and a name only where it reads as that name: in Latin
letters, alike; in Cyrillic, alike once transliterated; in Arabic, where the code's Spanish or French
name was kept. A name marked with CLDR's "²" (one of two alike) is never kept.

Run once by hand with CLDR's XML (Debian's `unicode-cldr-core`, for one):
    python tools/subdivision_names.py /usr/share/unicode/cldr/common/subdivisions 41
The service itself never needs CLDR's files or the network.
"""

import csv
import difflib
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pycountry

LANGUAGES = ("ar", "es", "fr", "ru")
LATIN = ("es", "fr")
OUT = Path(__file__).resolve().parent.parent / "directory" / "data" / "subdivision_names.csv"
ALIKE = 0.6  # how alike two spellings of one name must be (difflib's ratio), once titles are left out
# the words around a name that say what kind of place it is, in English, Spanish and French
TITLES = set("""province provincia region región departement département departamento district distrito
    governorate gouvernorat prefecture préfecture prefectura state estado etat état county comte comté
    municipality municipio municipalité city ciudad ville capital territory territorio territoire oblast
    area autonomous autonoma autonome of de del la le les du des the y et and""".split())
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",  # noqa: RUF001
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",  # noqa: RUF001
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",  # noqa: RUF001
    "ь": "",
    "э": "e", "ю": "yu", "я": "ya"})


def names(folder: Path, language: str) -> dict[str, str]:
    """CLDR's names in one language by the code it gives: its `sdkh` is `SD-KH`."""
    root = ET.parse(folder / f"{language}.xml").getroot()  # noqa: S314 (CLDR's own files, read by hand)
    found = {}
    for element in root.iter("subdivision"):
        key, text = element.get("type", ""), (element.text or "").strip()
        if len(key) > 2 and text:
            found[f"{key[:2]}-{key[2:]}".upper()] = text
    return found


def _plain(name: str) -> str:
    """A name as letters alone, lower case, without accents or the words of its title."""
    letters = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    words = re.findall(r"[^\W\d_]+", letters.translate(_CYRILLIC))
    return " ".join(w for w in words if w not in TITLES)


def alike(one: str, other: str) -> bool:
    """Two spellings of one name: one holds the other, or they are alike letter by letter, in their
    words' order or in sorted order ("Darfur Central", "Central Darfur")."""
    a, b = _plain(one), _plain(other)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    return any(difflib.SequenceMatcher(None, x, y).ratio() >= ALIKE
               for x, y in ((a, b), (" ".join(sorted(a.split())), " ".join(sorted(b.split())))))


# A title some of a country's names carry and most do not, left out of those few so one country's
# list reads alike and sorts by the name ("Departamento de Atlántida" among Honduras's bare names
# was filed under D: a Spanish walk)
PREFIXES = {
    "es": ("Departamento de ", "Departamento del ", "Provincia de ", "Provincia del ", "Región de ", "Región del ",
           "Estado de ", "Distrito de ", "Gobernación de ", "Municipio de "),
    "fr": ("département de ", "département du ", "département de la ", "province de ", "province du ",
           "province d\u2019", "région de ", "région du ", "gouvernorat de ", "gouvernorat d\u2019", "préfecture de ",
           "district de ", "État de ", "État du "),
    "ar": ("محافظة ", "ولاية ", "منطقة ", "إقليم ", "مقاطعة ", "إمارة "),
}


def _alike_within_countries(rows: list[list[str]]) -> None:
    """Leave a title out of a country's names in one language where fewer than half carry it."""
    for i, lang in enumerate(LANGUAGES, start=1):
        for country in {r[0][:2] for r in rows}:
            named = [r for r in rows if r[0][:2] == country and r[i]]
            for prefix in PREFIXES.get(lang, ()):
                titled = [r for r in named if r[i].casefold().startswith(prefix.casefold())]
                if titled and 2 * len(titled) < len(named):
                    for r in titled:
                        rest = r[i][len(prefix):]
                        r[i] = rest[:1].upper() + rest[1:] if lang != "ar" else rest


def main(folder: str, version: str) -> None:
    iso = {s.code: s.name for s in pycountry.subdivisions}
    english = names(Path(folder), "en")
    by_language = {language: names(Path(folder), language) for language in LANGUAGES}
    rows, dropped = [], 0
    for code in sorted(iso):
        if not alike(english.get(code, ""), iso[code]):  # a code ISO gave another place, or none
            dropped += any(by_language[lang].get(code) for lang in LANGUAGES)
            continue
        kept = {}
        for lang in LANGUAGES:
            name = by_language[lang].get(code, "")
            if not name or "²" in name or "³" in name:
                continue
            if lang in LATIN or lang == "ru":
                if alike(name, iso[code]) or alike(name, english[code]):
                    kept[lang] = name
            elif lang == "ar":
                kept[lang] = name  # held to its Latin neighbours below
        if "ar" in kept and not any(lang in kept for lang in LATIN):
            del kept["ar"]
        if kept:
            rows.append([code, *(kept.get(lang, "") for lang in LANGUAGES)])
    _alike_within_countries(rows)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        f.write("# ISO 3166-2 subdivisions' names in Arabic, Spanish, French and Russian, where the Unicode "
                f"CLDR (version {version}, common/subdivisions) names them and its English name for the code "
                "is ISO's; empty where it does not, or the name does not read as the place's "
                "(tools/subdivision_names.py).\n")
        f.write("# Copyright (c) 1991-2022 Unicode, Inc. Distributed under the Unicode License "
                "(Unicode-DFS-2016), https://www.unicode.org/copyright.html.\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", *LANGUAGES])
        writer.writerows(rows)
    print(f"{len(rows)} of {len(iso)} subdivisions named ({dropped} left out: CLDR's code is another place's), "
          f"written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
