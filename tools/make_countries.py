"""Regenerate directory/data/countries.csv from the OCHA country taxonomy.

Run once by hand in a scratch environment (`pip install hdx-python-country`);
the service itself never needs that package or the network.
"""

import csv
import sys

from hdx.location.country import Country

# Countries across the 180th meridian whose points in the taxonomy are averages of longitudes
# never wrapped (Fiji at 195.3 E, Tuvalu at 181.1 E: in the open ocean): their capitals instead,
# Suva and Funafuti, as latitude and longitude within -180..180.
POINTS = {"FJ": ("-18.1416", "178.4419"), "TV": ("-8.5211", "179.1983")}

HEADER = [
    "iso2", "iso3", "m49", "name", "region_code", "region", "subregion_code",
    "subregion", "intermediate_region_code", "intermediate_region", "latitude", "longitude",
]


def main(path: str) -> None:
    Country.set_use_live_default(False)
    rows = []
    for iso3, c in Country.countriesdata()["countries"].items():
        if c.get("Deprecated") == "Y" or not c.get("ISO 3166-1 Alpha 2-Codes"):
            continue
        rows.append([
            c["ISO 3166-1 Alpha 2-Codes"], iso3, (c["m49 numerical code"] or "").zfill(3),
            c["English Short"] or c["Preferred Term"], c["Region Code"] or "",
            c["Region Name"] or "", c["Sub-region Code"] or "", c["Sub-region Name"] or "",
            (c["Intermediate Region Code"] or "").zfill(3) if c["Intermediate Region Code"] else "",
            c["Intermediate Region Name"] or "",
            *POINTS.get(c["ISO 3166-1 Alpha 2-Codes"], (c["Latitude"], c["Longitude"])),
        ])
    rows.sort()
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write("# Countries and territories: ISO 3166-1 codes, UN M49 codes, regions and "
                "sub-regions (intermediate regions too), and a representative point.\n")
        f.write("# Derived from the OCHA Countries and Territories taxonomy as packaged in "
                "hdx-python-country 4.2.5 (UN M49 classification by the UN Statistics "
                "Division). Regenerate with tools/make_countries.py. The points of Fiji and "
                "Tuvalu are their capitals' (the taxonomy's lie beyond 180 E); points outside "
                "their country's outline box were moved into it by tools/country_points.py, from "
                "Natural Earth's outlines (public domain).\n")
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "directory/data/countries.csv")
