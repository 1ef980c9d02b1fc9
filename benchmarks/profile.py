"""Where a variant's CPU goes: cProfile of one worker's timed loop, grouped by package.

``python -m benchmarks.profile --variant microdc --scenario get_c64 [--baseline raw_httpx] [--quick]``
starts the loopback server, runs the variant once with cProfile on, and prints:

* self time per package (pydantic-core validation and socket calls on their own lines,
  other C builtins charged to the package that called them),
* the time outside ``httpx.AsyncClient.send`` (what the SDK adds around the transport),
* the top functions of the SDK (``microdc``, or ``--focus PACKAGE``) by self time,
  and by cumulative time.

With ``--baseline`` it also profiles that variant and lists the functions whose self
time differs most, per unit (what the SDK adds, including work it causes in httpx).
The same text goes to ``benchmarks/results/profile-<variant>-<scenario>.txt``.
The profiler's clock is the process's CPU time, so waits and preemption by other
processes do not count; cProfile slows pure-Python code more than C code, so read
shares and differences, not absolute µs.
"""

from __future__ import annotations

import os
import sys
import pstats
import argparse
import tempfile
from typing import Any, Dict, List, Tuple, Optional, cast
from collections import defaultdict

from .report import RESULTS_DIR
from .runner import SCENARIOS, Server, run_worker
from .variants import VARIANTS

Func = Tuple[str, int, str]
# pstats' raw table: function -> (primitive calls, calls, self s, cumulative s, callers)
Entry = Tuple[int, int, float, float, Dict[Func, Tuple[int, int, float, float]]]
Table = Dict[Func, Entry]


def load_stats(path: str) -> Table:
    raw: object = getattr(pstats.Stats(path), "stats")  # noqa: B009 (not in the type stubs)
    return cast(Table, raw)


_STDLIB = os.path.dirname(os.__file__)
_ROOT = str(RESULTS_DIR.parent.parent)
_FOCUS = {"raw_httpx": "httpx", "raw_aiohttp": "aiohttp", "openai": "openai"}


def package_of(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "/site-packages/" in path:
        top = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        return top[:-3] if top.endswith(".py") else top
    if "/src/microdc/" in path:
        return "microdc"
    if "/benchmarks/" in path:
        return "benchmarks (harness)"
    if path.startswith(_STDLIB):
        rest = path[len(_STDLIB) :].lstrip("/")
        top = rest.split("/", 1)[0]
        return "stdlib " + (top[:-3] if top.endswith(".py") else top)
    return "other"


def _label(func: Func) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/src/", _STDLIB + "/", _ROOT + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})"


def analyse(stats_path: str, units: int, unit: str, top: int, focus: str = "microdc") -> str:
    stats = load_stats(stats_path)
    by_package: Dict[str, float] = defaultdict(float)
    total = idle = 0.0
    for func, (_cc, _nc, tt, _ct, callers) in stats.items():
        if func[0] == "~" and "select.epoll" in func[2]:  # waiting for the server, not CPU
            idle += tt
            continue
        total += tt
        if func[0] == "~" and "pydantic_core" in func[2]:
            by_package["pydantic_core (validation, C)"] += tt
        elif func[0] == "~" and ("_socket.socket" in func[2] or "select." in func[2]):
            by_package["socket syscalls"] += tt
        elif func[0] == "~" and callers:  # another builtin: charge whoever called it
            for caller, (_c, _n, ctt, _cct) in callers.items():
                by_package[package_of(caller[0])] += ctt
        else:
            by_package[package_of(func[0])] += tt
    per = 1e6 / max(units, 1)
    out: List[str] = [
        f"profiled: {total * per:,.1f} µs/{unit} of CPU (cProfile-inflated; timer: process CPU time) "
        f"+ {idle * per:,.1f} µs/{unit} in epoll, over {units:,} {unit}s",
        "",
    ]
    out.append("self time by package (other builtins charged to their caller):")
    for pkg, tt in sorted(by_package.items(), key=lambda kv: -kv[1]):
        if tt * per >= 0.05:
            out.append(f"  {pkg:<28} {tt * per:10,.1f} µs/{unit}  {tt / total:6.1%}")
    send = _cumulative(stats, "httpx/_client.py", "send")
    if send is not None:
        outside = total - send
        out += [
            "",
            f"inside httpx.AsyncClient.send: {send * per:,.1f} µs/{unit} ({send / total:.1%}); "
            f"outside it (SDK + parsing + loop): {outside * per:,.1f} µs/{unit} ({outside / total:.1%})",
        ]
    mine = [(f, v) for f, v in stats.items() if package_of(f[0]) == focus]
    out += ["", f"{focus} functions by self time (top {top}):", _header(unit)]
    for func, v in sorted(mine, key=lambda kv: -kv[1][2])[:top]:
        out.append(_row(func, v, per, units))
    out += ["", f"{focus} functions by cumulative time (top {top}):", _header(unit)]
    for func, v in sorted(mine, key=lambda kv: -kv[1][3])[:top]:
        out.append(_row(func, v, per, units))
    return "\n".join(out) + "\n"


def self_times(stats_path: str) -> Tuple[Dict[str, float], Dict[str, int]]:
    """Self time and calls per function label (epoll waits left out)."""
    stats = load_stats(stats_path)
    times: Dict[str, float] = defaultdict(float)
    calls: Dict[str, int] = defaultdict(int)
    for func, (_cc, nc, tt, _ct, _callers) in stats.items():
        if func[0] == "~" and "select.epoll" in func[2]:
            continue
        times[_label(func)] += tt
        calls[_label(func)] += nc
    return times, calls


def compare(stats_path: str, units: int, base_path: str, base_units: int, unit: str, top: int, names: str) -> str:
    """The functions whose self time differs most between two profiles, per unit."""
    mine, my_calls = self_times(stats_path)
    base, base_calls = self_times(base_path)
    per, base_per = 1e6 / max(units, 1), 1e6 / max(base_units, 1)
    total_delta = sum(mine.values()) * per - sum(base.values()) * base_per
    rows: List[Tuple[float, float, str]] = []
    for label in set(mine) | set(base):
        delta = mine.get(label, 0.0) * per - base.get(label, 0.0) * base_per
        calls = my_calls.get(label, 0) / max(units, 1) - base_calls.get(label, 0) / max(base_units, 1)
        rows.append((delta, calls, label))
    rows.sort(key=lambda r: -abs(r[0]))
    out = [
        f"{names}: {total_delta:+,.1f} µs/{unit} of CPU in all (cProfile-inflated); largest differences "
        f"in self time (top {top}):",
        f"  {'Δ µs/' + unit:>12} {'Δ calls/' + unit:>14}  function",
    ]
    out += [f"  {d:+12.1f} {c:+14.2f}  {label}" for d, c, label in rows[:top]]
    return "\n".join(out) + "\n"


def _cumulative(stats: Table, file_suffix: str, name: str) -> Optional[float]:
    found = [v[3] for f, v in stats.items() if f[0].replace("\\", "/").endswith(file_suffix) and f[2] == name]
    return max(found) if found else None


def _header(unit: str) -> str:
    return f"  {'calls/' + unit:>10} {'self µs/' + unit:>14} {'cum µs/' + unit:>14}  function"


def _row(func: Func, v: Any, per: float, units: int) -> str:
    nc, tt, ct = v[1], v[2], v[3]
    return f"  {nc / max(units, 1):10.2f} {tt * per:14.1f} {ct * per:14.1f}  {_label(func)}"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description="Where a variant's CPU goes.")
    parser.add_argument("--variant", default="microdc", choices=list(VARIANTS))
    parser.add_argument("--scenario", default="get_c1", choices=[s for s in SCENARIOS if s != "import"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", default="", help="package whose functions to list (default: the variant's)")
    parser.add_argument("--baseline", default="", choices=["", *VARIANTS], help="also profile this variant and diff")
    args = parser.parse_args(argv)
    focus = args.focus or _FOCUS.get(args.variant, "microdc")
    scenario = SCENARIOS[args.scenario]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stats.prof")
        base_path = os.path.join(tmp, "baseline.prof")
        with Server(max_seconds=900) as server:
            result = run_worker(scenario, args.variant, server.base_url, args.quick, profile=path)
            base = (
                run_worker(scenario, args.baseline, server.base_url, args.quick, profile=base_path)
                if args.baseline
                else {}
            )
        for name, res in ((args.variant, result), (args.baseline, base)):
            if name and res.get("status") != "ok":
                sys.exit(f"{name} {args.scenario}: {res.get('status')}: {res.get('reason')}")
        text = f"# {args.variant} / {args.scenario}: {scenario.title}\n\n" + analyse(
            path, result["units"], scenario.unit, args.top, focus
        )
        if args.baseline:
            names = f"{args.variant} - {args.baseline}"
            text += "\n" + compare(path, result["units"], base_path, base["units"], scenario.unit, args.top, names)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = f"-vs-{args.baseline}" if args.baseline else ""
    (RESULTS_DIR / f"profile-{args.variant}-{args.scenario}{suffix}.txt").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
