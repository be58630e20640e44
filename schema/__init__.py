"""The GraphQL API of Protection Directory (strawberry). `schema` is the executable schema;
`directory.graphql` beside this file is its exported SDL, checked against the code in CI."""

from schema.api import schema

__all__ = ["schema"]
