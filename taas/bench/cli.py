"""`taas bench {dataplane,api,control,all}`: run benchmarks, print tables, update docs/benchmarks.md."""
from __future__ import annotations

import sys

USAGE = "usage: taas bench {dataplane,api,control,all} [ARGS...]  (each takes --help)"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "dataplane":
        from taas.bench import dataplane
        return dataplane.main(rest)
    if cmd == "api":
        from taas.bench import api
        return api.main(rest)
    if cmd == "control":
        from taas.bench import control
        return control.main(rest)
    if cmd == "all":
        from taas.bench import api, dataplane
        return max(dataplane.main(rest), api.main([]))
    print(USAGE, file=sys.stderr)
    return 2
