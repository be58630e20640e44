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

from directory.base.files import private_folder, private_replacing_all
from directory.base.progress import QUIET, Progress
from directory.domain.model import Link, Organisation, Service, published_by
from directory.domain.viewer import Viewer
from directory.formats import hsds, hxl
from directory.store import Store


def _may_pass_on(store: Store, record: Organisation | Service) -> bool:
    """Ours, or a peer's whose entry lets us pass it on (each record's own flag: a peer may set it
    for some of an organisation's records and not others)."""
    return published_by(record, store.directory_id) == store.directory_id \
        or bool(record.provenance and record.provenance.redistribute)


def _passed_on(store: Store, page: list[Organisation]) -> list[Organisation]:
    """The organisations of a page that a file may hold."""
    return [o for o in page if _may_pass_on(store, o)]


async def _services_passed_on(store: Store, viewer: Viewer, ids: list[str]) -> dict[str, list[Service]]:
    return {org: [s for s in services if _may_pass_on(store, s)]
            for org, services in (await store.services_of(viewer, ids)).items()}


async def _links_passed_on(store: Store, viewer: Viewer, ids: list[str]) -> list[Link]:
    """The links from these organisations that a file may hold: ours or passed on, to a target it may hold."""
    links = [link for link in await store.links_from(viewer, ids)
             if link.source.startswith(f"{store.directory_id}:") or link.redistribute]
    targets = await store.organisations_by_id(viewer, sorted({link.target for link in links}))
    kept = {o.id for o in _passed_on(store, list(targets.values()))}
    return [link for link in links if link.target in kept]


async def export_hsds(store: Store, viewer: Viewer, out: Path, progress: Progress = QUIET) -> dict[str, int]:
    """Write `out/organizations.json` and `out/services.json` as HSDS 3.0 JSON arrays."""
    private_folder(out)
    counts = {"organizations": 0, "services": 0}
    with private_replacing_all([out / "organizations.json", out / "services.json"],
                               encoding="utf-8") as (orgs_file, svcs_file):
        orgs_file.write("[")
        svcs_file.write("[")
        async for everything in store.each_organisation(viewer):
            page = _passed_on(store, everything)
            services = await _services_passed_on(store, viewer, [o.id for o in page])
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
    return counts


async def export_csv(store: Store, viewer: Viewer, out: Path, progress: Progress = QUIET) -> dict[str, int]:
    """Write `out/organisations.csv`, `services.csv` and `links.csv` in the HXL format imports read."""
    private_folder(out)
    counts = {"organisations": 0, "services": 0, "links": 0}
    # the three files take their places together, once all are whole: never new links beside old organisations
    with private_replacing_all([out / "organisations.csv", out / "services.csv", out / "links.csv"],
                               newline="", encoding="utf-8") as (orgs_file, svcs_file, links_file):
        orgs, svcs, links = (hxl.Writer("organisations", orgs_file), hxl.Writer("services", svcs_file),
                             hxl.Writer("links", links_file))
        async for everything in store.each_organisation(viewer):
            page = _passed_on(store, everything)
            ids = [o.id for o in page]
            services = await _services_passed_on(store, viewer, ids)
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
    return counts
