"""Regenerate directory/data/subdivision_names.csv: ISO 3166-2 subdivisions' names in the pages'
languages other than English, from the Unicode CLDR's subdivision names.

pycountry (iso-codes) names subdivisions in Russian, French and Spanish for some countries and in
Arabic for none: a Sudanese group read its provinces in English ("Blue Nile", "Central Darfur") and
could not type "الخرطوم". CLDR names most of them in each language.

Run once by hand with CLDR's XML (Debian's `unicode-cldr-core`, for one):
    python tools/subdivision_names.py /usr/share/unicode/cldr/common/subdivisions 41
The service itself never needs CLDR's files or the network.
"""

import csv
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pycountry

LANGUAGES = ("ar", "es", "fr", "ru")
OUT = Path(__file__).resolve().parent.parent / "directory" / "data" / "subdivision_names.csv"


def names(folder: Path, language: str) -> dict[str, str]:
    """CLDR's names in one language by ISO 3166-2 code: its `sdkh` is `SD-KH`."""
    root = ET.parse(folder / f"{language}.xml").getroot()  # noqa: S314 (CLDR's own files, read by hand)
    found = {}
    for element in root.iter("subdivision"):
        key, text = element.get("type", ""), (element.text or "").strip()
        if len(key) > 2 and text:
            found[f"{key[:2]}-{key[2:]}".upper()] = text
    return found


def main(folder: str, version: str) -> None:
    codes = sorted(s.code for s in pycountry.subdivisions)
    by_language = {language: names(Path(folder), language) for language in LANGUAGES}
    rows = [[code, *(by_language[lang].get(code, "") for lang in LANGUAGES)] for code in codes
            if any(by_language[lang].get(code) for lang in LANGUAGES)]
    with OUT.open("w", newline="", encoding="utf-8") as f:
        f.write("# ISO 3166-2 subdivisions' names in Arabic, Spanish, French and Russian, where the Unicode "
                f"CLDR (version {version}, common/subdivisions) names them; empty where it does not.\n")
        f.write("# Copyright (c) 1991-2022 Unicode, Inc. Distributed under the Unicode License "
                "(Unicode-DFS-2016), https://www.unicode.org/copyright.html. Regenerate with "
                "tools/subdivision_names.py.\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", *LANGUAGES])
        writer.writerows(rows)
    print(f"{len(rows)} of {len(codes)} subdivisions named, written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
