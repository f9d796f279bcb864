"""Tables on stdout and marker-delimited sections of docs/benchmarks.md."""
from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
TITLE = ("# Benchmarks\n\nProduced by `taas bench dataplane` and `taas bench api` (`taas bench "
         "all` runs both); each run rewrites only its own section (between "
         "`<!-- bench:NAME -->` markers) and the machine line.\n")


def machine() -> str:
    """One line naming the machine: CPUs, memory, OVS, Python, date."""
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        mem = "?"
    try:
        ovs = subprocess.run(["ovs-vswitchd", "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0].split()[-1]
    except (OSError, IndexError):
        ovs = "?"
    cpu = "?"
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    return (f"nproc {os.cpu_count()} ({cpu}), memory {mem}, OVS {ovs}, "
            f"Python {platform.python_version()}, kernel {platform.release()}, {date}, "
            f"1-min load average {load:.1f}")


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (also readable as plain text on stdout)."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(cells[0]), sep, *(fmt(r) for r in cells[1:])])


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the `name` section and the machine header of the document."""
    text = doc.read_text() if doc.exists() else TITLE
    text = _replace(text, "machine", f"Last run on: {machine()}\n", after_title=True)
    text = _replace(text, name, body.rstrip() + "\n")
    doc.write_text(text)


def _replace(text: str, name: str, body: str, after_title: bool = False) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body}{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    if after_title:
        head, _, rest = text.partition("\n\n")
        return f"{head}\n\n{block}\n\n{rest}" if rest else f"{text.rstrip()}\n\n{block}\n"
    return f"{text.rstrip()}\n\n{block}\n"
