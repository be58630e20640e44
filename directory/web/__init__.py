"""The web app: GraphQL, maps and federation routes behind one door to the store."""

from directory.web.app import create_app

__all__ = ["create_app"]
