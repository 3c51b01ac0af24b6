"""Command-line front end; the same as the installed ``zoning`` command."""

from zoning.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
