"""Write the schema's SDL to schema/directory.graphql, or with --check fail if the file differs."""

from __future__ import annotations

import sys
from pathlib import Path

from schema import schema

SDL_FILE = Path(__file__).with_name("directory.graphql")


def sdl() -> str:
    return schema.as_str() + "\n"


def main() -> None:
    if "--check" in sys.argv:
        if not SDL_FILE.exists() or SDL_FILE.read_text() != sdl():
            print(f"{SDL_FILE} differs from the code's schema: run `make sdl` and commit it", file=sys.stderr)
            sys.exit(1)
        print(f"{SDL_FILE.name} matches the code's schema")
        return
    SDL_FILE.write_text(sdl())
    print(f"wrote {SDL_FILE}")


if __name__ == "__main__":
    main()
