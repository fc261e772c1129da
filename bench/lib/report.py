"""Figures and the markdown report: medians, spreads, tables, and results.json saved with the
command line that produced it."""

import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import sys
import tempfile

from . import COMMANDS, ROOT


def now():
    return datetime.datetime.now().astimezone()


def command_line():
    """How this driver was run, as one shell line from the repository root."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    return f"/usr/bin/python3 {script} {shlex.join(sys.argv[1:])}".rstrip()


# ---------------------------------------------------------------------------------------------
# command-line options shared by the drivers


def parser(doc):
    """An ArgumentParser whose description is the module docstring's first paragraph and
    whose epilog is the rest (so --help says what the driver measures and how)."""
    head, _, rest = doc.strip().partition("\n\n")
    return argparse.ArgumentParser(description=head, epilog=rest,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_common_args(ap, repeats=3, models_dir=True):
    ap.add_argument("--strata", help="strata binary (default: build/release/strata; a "
                                     "private copy is measured)")
    ap.add_argument("--out", help="directory for raw output, logs and results.json "
                                  "(default: a new temporary directory)")
    ap.add_argument("--repeats", type=int, default=repeats,
                    help=f"rounds; figures are medians (default {repeats})")
    if models_dir:
        ap.add_argument("--models-dir",
                        help="reuse a repository written by bench/make_bench_models.py")


def begin(args, name, model_options=()):
    """What a driver with add_common_args starts from: (started, out, repository of
    bench/make_bench_models.py written with `model_options` (or --models-dir), private strata
    binary, machine and binary info)."""
    from . import machine, models, servers
    started = now()
    out = out_dir(args, name)
    repo = models.bench_models(args.models_dir, out, model_options)
    binary, binfo = servers.strata_binary(args.strata, out)
    return started, out, repo, binary, dict(machine.machine_info(), **binfo)


def out_dir(args, name):
    d = getattr(args, "out", None) or tempfile.mkdtemp(prefix=f"strata-{name}-")
    os.makedirs(d, exist_ok=True)
    return d


# ---------------------------------------------------------------------------------------------
# figures


def median(values, key=None):
    """Median of the values that are not None (of r[key] for each r with `key`); None if none."""
    if key is not None:
        values = [r.get(key) for r in values]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def us(v):
    if v is None:
        return "—"
    if v >= 10000:
        return f"{v / 1000:,.1f} ms"
    return f"{v:,.0f} µs"


def num(v):
    return "—" if v is None else f"{v:,.0f}"


def cpus(v):
    return "—" if v is None else f"{v:.2f}"


def mib(kb):
    return "—" if kb is None else f"{kb / 1024:,.1f} MiB"


def spread(values, f=us):
    """"min – max" of the values that are not None."""
    values = [v for v in values if v is not None]
    return f"{f(min(values))} – {f(max(values))}" if values else "—"


def median_spread(values, f=us):
    """"median (min – max)"."""
    values = [v for v in values if v is not None]
    return f"{f(statistics.median(values))} ({spread(values, f)})" if values else "—"


def verdict(ok):
    return "**met**" if ok else "**missed**"


# ---------------------------------------------------------------------------------------------
# markdown


def table(headers, rows, align=None):
    """Markdown table lines; align: a string of 'l'/'r' per column (default: all left)."""
    align = align or "l" * len(headers)
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def header(title, info, started, extra=(), load="wrk"):
    """The report's heading: date, versions, machine, load generators, `extra` bullets."""
    lines = [f"### {title}\n",
             f"- date: {started.strftime('%Y-%m-%d %H:%M %Z').strip()}; benchmark scripts at "
             f"{info['git']}; strata binary `{info.get('strata_binary', '?')}` built "
             f"{info.get('strata_binary_mtime', '?')} in a checkout at "
             f"{info.get('strata_binary_commit', '?')}, Release (-O2)",
             f"- machine: {info['nproc']} CPUs, {info['cpu']}, {info['memory_gib']} GiB, kernel "
             f"{info['kernel']}, {info['os']}; shared with other engineers' builds (the "
             "'others' CPU column says how much they used during each run)"]
    if load == "wrk":
        lines.append(f"- load generators run on the same machine: {info['wrk']}, "
                     f"bench/lib/openloop.py (asyncio, Python {sys.version.split()[0]})")
    elif load:
        lines.append(f"- load generators run on the same machine: {load}")
    if os.nice(0) != 0:
        lines.append(f"- run at `nice -n {os.nice(0)}` (servers and load generators alike), so "
                     "that concurrent builds on the machine disturb the figures less")
    lines.extend(f"- {e}" for e in extra)
    return lines


def problems_lines(problems, none_text):
    lines = ["\nProblems seen: " + (f"none ({none_text})" if not problems else "")]
    lines.extend(f"- {p}" for p in problems)
    return lines


def commands_block(out):
    """The command line of this run, then every external command it ran (once each, with OUT,
    ports and the home directory made generic)."""
    lines = ["```sh", command_line()]
    seen = set()
    home = os.path.expanduser("~") + "/"
    for c in COMMANDS:
        c = c.replace(out, "$OUT").replace(ROOT + "/", "")
        c = re.sub(r"(?<![\w/.-])" + re.escape(home), "~/", c)
        c = re.sub(r"--port \d+", "--port PORT", c)
        c = re.sub(r"--grpc-port \d+", "--grpc-port PORT", c)
        c = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", c)
        c = re.sub(r"_r\d+\.txt\b", "_rN.txt", c)
        if c not in seen:
            seen.add(c)
            lines.append(c)
    lines.append("```")
    return lines


def footer(out):
    return ["\nCommands:\n", *commands_block(out), f"\nRaw output: {out}"]


def end(lines, problems, none_text, out):
    """The report's text: `lines`, then the problems seen (or none: `none_text`), the commands
    and where the raw output is."""
    return "\n".join(lines + problems_lines(problems, none_text) + footer(out))


def save_results(out, data):
    """OUT/results.json: `data` plus the command line and every command run."""
    data = dict(data, command=command_line(), commands=list(COMMANDS))
    path = os.path.join(out, "results.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1, default=str)
    return path
