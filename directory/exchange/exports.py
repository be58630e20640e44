"""Exports that obey visibility: what a file holds is what its viewer may see, nothing more.

`directory export` uses the anonymous viewer unless a steward asks for another audience, so a
public export holds only public records, with locations at their published precision. Every file
is written owner-only (`directory.base.files`): temporary files 0600, renamed into a 0700 folder.

A file is passed on, so it holds no record of a peer that did not let us pass it on (its
`redistribute` flag), nor a link to one: the peer shared it with our directory, not with whoever
reads the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from directory.base.files import private_folder, private_open
from directory.base.progress import QUIET, Progress
from directory.domain.model import Link, Organisation
from directory.domain.viewer import Viewer
from directory.formats import hsds, hxl
from directory.store import Store


def _passed_on(store: Store, page: list[Organisation]) -> list[Organisation]:
    """The organisations of a page that a file may hold: ours, and peers' that they let us pass on."""
    return [o for o in page if o.provenance is None or o.provenance.publisher == store.directory_id
            or o.provenance.redistribute]


async def _links_passed_on(store: Store, viewer: Viewer, ids: list[str]) -> list[Link]:
    """The links from these organisations whose targets a file may hold too."""
    links = await store.links_from(viewer, ids)
    targets = await store.organisations_by_id(viewer, sorted({link.target for link in links}))
    kept = {o.id for o in _passed_on(store, list(targets.values()))}
    return [link for link in links if link.target in kept]


async def export_hsds(store: Store, viewer: Viewer, out: Path, progress: Progress = QUIET) -> dict[str, int]:
    """Write `out/organizations.json` and `out/services.json` as HSDS 3.0 JSON arrays."""
    private_folder(out)
    counts = {"organizations": 0, "services": 0}
    orgs_tmp, svcs_tmp = out / ".organizations.json.tmp", out / ".services.json.tmp"
    with private_open(orgs_tmp, "w", encoding="utf-8") as orgs_file, \
            private_open(svcs_tmp, "w", encoding="utf-8") as svcs_file:
        orgs_file.write("[")
        svcs_file.write("[")
        async for everything in store.each_organisation(viewer):
            page = _passed_on(store, everything)
            services = await store.services_of(viewer, [o.id for o in page])
            for org in page:
                orgs_file.write(("," if counts["organizations"] else "") + "\n" +
                                json.dumps(hsds.organisation_to_hsds(org), ensure_ascii=False))
                counts["organizations"] += 1
                for svc in services.get(org.id, []):
                    svcs_file.write(("," if counts["services"] else "") + "\n" +
                                    json.dumps(hsds.service_to_hsds(svc), ensure_ascii=False))
                    counts["services"] += 1
            progress.count("exported", counts["organizations"], "organisations",
                           note=f"with {counts['services']} services")
        orgs_file.write("\n]\n")
        svcs_file.write("\n]\n")
    orgs_tmp.replace(out / "organizations.json")
    svcs_tmp.replace(out / "services.json")
    return counts


async def export_csv(store: Store, viewer: Viewer, out: Path, progress: Progress = QUIET) -> dict[str, int]:
    """Write `out/organisations.csv`, `services.csv` and `links.csv` in the HXL format imports read."""
    private_folder(out)
    counts = {"organisations": 0, "services": 0, "links": 0}
    names = {kind: out / f".{kind}.csv.tmp" for kind in counts}
    with private_open(names["organisations"], "w", newline="", encoding="utf-8") as orgs_file, \
            private_open(names["services"], "w", newline="", encoding="utf-8") as svcs_file, \
            private_open(names["links"], "w", newline="", encoding="utf-8") as links_file:
        orgs, svcs, links = (hxl.Writer("organisations", orgs_file), hxl.Writer("services", svcs_file),
                             hxl.Writer("links", links_file))
        async for everything in store.each_organisation(viewer):
            page = _passed_on(store, everything)
            ids = [o.id for o in page]
            services = await store.services_of(viewer, ids)
            for org in page:
                orgs.write(hxl.organisation_cells(org))
                for svc in services.get(org.id, []):
                    svcs.write(hxl.service_cells(svc))
                    counts["services"] += 1
            for link in await _links_passed_on(store, viewer, ids):
                links.write(hxl.link_cells(link))
                counts["links"] += 1
            counts["organisations"] += len(page)
            progress.count("exported", counts["organisations"], "organisations")
    for kind, tmp in names.items():
        tmp.replace(out / f"{kind}.csv")
    return counts
