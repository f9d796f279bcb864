"""`taas db upgrade [--revision REV] --config-file FILE`: apply the packaged migrations."""
from __future__ import annotations

import argparse
import sys

from taas import config
from taas.db.engine import make_engine
from taas.db.migrate import current_revision, upgrade


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="taas db", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("--revision", default="head")
    sub.add_parser("current", help="print the schema revision of the database")
    # Everything else (--config-file, --config-dir) belongs to oslo.config.
    args, rest = parser.parse_known_args(argv)
    conf = config.load(rest)
    engine = make_engine(conf.database.connection)
    try:
        if args.action == "upgrade":
            upgrade(engine, args.revision)
        print(current_revision(engine) or "<empty>")
    finally:
        engine.dispose()
    return 0
