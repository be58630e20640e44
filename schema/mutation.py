"""The Mutation root. Every mutation applies completely or not at all, and answers with a payload:
the record as it now is, or typed errors naming the field and the reason. Never a stack trace."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from directory.domain.ids import record_id_of
from directory.domain.model import Link as LinkRecord
from directory.domain.model import Visibility as VisibilityValue
from directory.store import Edit, EditRefused, new_id
from schema.context import Context
from schema.inputs import LinkInput, LinkRef, OrganisationInput, ServiceInput, given
from schema.types import Link, Organisation, Service


@strawberry.enum
class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    REVISION_CONFLICT = "REVISION_CONFLICT"


@strawberry.type(description="Why a mutation did not apply. `field` is the input field at fault, if one is.")
class UserError:
    code: ErrorCode
    field: str | None
    reason: str


@strawberry.type
class OrganisationPayload:
    organisation: Organisation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    current_revision: int | None = strawberry.field(default=None, description="With REVISION_CONFLICT.")


@strawberry.type
class ServicePayload:
    service: Service | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    current_revision: int | None = None


@strawberry.type
class LinkPayload:
    link: Link | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    current_revision: int | None = None


@strawberry.type
class DeletePayload:
    deleted: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
    current_revision: int | None = None


def _camel(name: str) -> str:
    """Our field name as the input names it (strawberry's camelCase), so errors name what the client sent."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _errors(refused: EditRefused) -> list[UserError]:
    if refused.problems:
        return [UserError(code=ErrorCode.INVALID, field=_camel(p.column), reason=p.reason)
                for p in refused.problems]
    return [UserError(code=ErrorCode(refused.code), field=_camel(refused.field) if refused.field else None,
                      reason=refused.message)]


def _signed_in(info: Info[Context, None]) -> None:
    if info.context.viewer.role == "anonymous":
        raise EditRefused("FORBIDDEN", "changes need an API token (Authorization: Bearer ...)")


def _edit(fields: dict[str, Any]) -> Edit:
    return Edit(fields, {k: _camel(k) for k in fields})


def _organisation_payload(record: Any) -> OrganisationPayload:
    return OrganisationPayload(organisation=Organisation.of(record) if record else None)


def _service_payload(record: Any) -> ServicePayload:
    return ServicePayload(service=Service.of(record) if record else None)


# An update sends only the fields it changes: the store lays them over the record as it is under
# the edit's lock, inside the edit's transaction.

async def _update_service(info: Info[Context, None], id: strawberry.ID, revision: int,
                          input: ServiceInput, named: str = "id") -> ServicePayload:
    """`named`: the argument that gave the service's id (`setCoverage(service:)`), which an error
    about the id names."""
    record_id = record_id_of(str(id), "Service")
    try:
        _signed_in(info)
        saved = await info.context.store.save_service(info.context.viewer, _edit(dict(given(input), id=record_id)),
                                                      revision)
    except EditRefused as refused:
        if refused.field == "id":
            refused.field = named
        return ServicePayload(errors=_errors(refused), current_revision=refused.current_revision)
    return _service_payload(saved)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Add an organisation (stewards). Its id is made by the service.")
    async def create_organisation(self, info: Info[Context, None], input: OrganisationInput) -> OrganisationPayload:
        try:
            _signed_in(info)
            store = info.context.store
            fields = dict(given(input), id=new_id(store.directory_id))
            saved = await store.save_organisation(info.context.viewer, _edit(fields), None)
        except EditRefused as refused:
            return OrganisationPayload(errors=_errors(refused))
        return _organisation_payload(saved)

    @strawberry.mutation(description="Change an organisation; `revision` is the one you read (provenance.revision).")
    async def update_organisation(self, info: Info[Context, None], id: strawberry.ID, revision: int,
                                  input: OrganisationInput) -> OrganisationPayload:
        record_id = record_id_of(str(id), "Organisation")
        try:
            _signed_in(info)
            saved = await info.context.store.save_organisation(
                info.context.viewer, _edit(dict(given(input), id=record_id)), revision)
        except EditRefused as refused:
            return OrganisationPayload(errors=_errors(refused), current_revision=refused.current_revision)
        return _organisation_payload(saved)

    @strawberry.mutation(description="Delete an organisation and its services, leaving tombstones for peers.")
    async def delete_organisation(self, info: Info[Context, None], id: strawberry.ID, revision: int) -> DeletePayload:
        return await _delete(info, "organisation", record_id_of(str(id), "Organisation"), revision)

    @strawberry.mutation(description="Add a service to an organisation (its members, or stewards).")
    async def create_service(self, info: Info[Context, None], organisation: strawberry.ID,
                             input: ServiceInput) -> ServicePayload:
        try:
            _signed_in(info)
            store = info.context.store
            fields = dict(given(input), id=new_id(store.directory_id),
                          organisation=record_id_of(str(organisation), "Organisation"))
            saved = await store.save_service(info.context.viewer, _edit(fields), None)
        except EditRefused as refused:
            return ServicePayload(errors=_errors(refused))
        return _service_payload(saved)

    @strawberry.mutation(description="Change a service, including its coverage (presentIn, reaches) and defender "
                                     "groups; `revision` is the one you read.")
    async def update_service(self, info: Info[Context, None], id: strawberry.ID, revision: int,
                             input: ServiceInput) -> ServicePayload:
        return await _update_service(info, id, revision, input)

    @strawberry.mutation(description="Set where a service is delivered and where it reaches remotely.")
    async def set_coverage(self, info: Info[Context, None], service: strawberry.ID, revision: int,
                           present_in: list[str], reaches: list[str]) -> ServicePayload:
        return await _update_service(info, service, revision, ServiceInput(present_in=present_in, reaches=reaches),
                                     "service")

    @strawberry.mutation(description="Set the defender groups a service serves (none: open to all).")
    async def set_defender_groups(self, info: Info[Context, None], service: strawberry.ID, revision: int,
                                  groups: list[str]) -> ServicePayload:
        return await _update_service(info, service, revision, ServiceInput(groups=groups), "service")

    @strawberry.mutation(description="Delete a service, leaving a tombstone for peers.")
    async def delete_service(self, info: Info[Context, None], id: strawberry.ID, revision: int) -> DeletePayload:
        return await _delete(info, "service", record_id_of(str(id), "Service"), revision)

    @strawberry.mutation(description="Add a referral agreement, partnership, membership, funding or vetting. "
                                     "VETTED_BY is written by the vetter; the others by their source.")
    async def create_link(self, info: Info[Context, None], link: LinkRef, input: LinkInput) -> LinkPayload:
        return await _save_link(info, link, input, None)

    @strawberry.mutation(description="Change a link's properties; `revision` is the one you read.")
    async def update_link(self, info: Info[Context, None], link: LinkRef, revision: int,
                          input: LinkInput) -> LinkPayload:
        return await _save_link(info, link, input, revision)

    @strawberry.mutation(description="Delete a link, leaving a tombstone for peers.")
    async def delete_link(self, info: Info[Context, None], link: LinkRef, revision: int) -> DeletePayload:
        try:
            _signed_in(info)
            record = LinkRecord(link.type.value, link.source, link.target, VisibilityValue.PUBLIC, link.key)
            await info.context.store.delete_link(info.context.viewer, record, revision)
        except EditRefused as refused:
            return DeletePayload(errors=_errors(refused), current_revision=refused.current_revision)
        return DeletePayload(deleted=True)


async def _delete(info: Info[Context, None], kind: str, record_id: str, revision: int) -> DeletePayload:
    try:
        _signed_in(info)
        await info.context.store.delete(info.context.viewer, kind, record_id, revision)
    except EditRefused as refused:
        return DeletePayload(errors=_errors(refused), current_revision=refused.current_revision)
    return DeletePayload(deleted=True)


async def _save_link(info: Info[Context, None], ref: LinkRef, input: LinkInput, revision: int | None) -> LinkPayload:
    try:
        _signed_in(info)
        store = info.context.store
        fields: dict[str, Any] = {"type": ref.type.value, "source": ref.source, "target": ref.target, "key": ref.key}
        fields.update(given(input))
        saved = await store.save_link(info.context.viewer, _edit(fields), revision)
    except EditRefused as refused:
        return LinkPayload(errors=_errors(refused), current_revision=refused.current_revision)
    return LinkPayload(link=Link.of(saved) if saved else None)

