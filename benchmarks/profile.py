"""Where a variant's CPU goes: cProfile of one worker's timed loop, grouped by package.

``python -m benchmarks.profile --variant microdc --scenario get_c64 [--quick] [--top 25]``
starts the loopback server, runs the variant once with cProfile on, and prints:

* self time per package (time in C builtins is charged to the package that called them),
* the time outside ``httpx.AsyncClient.send`` (what the SDK adds around the transport),
* the top functions of the SDK (``microdc``, or ``--focus PACKAGE``) by self time,
  and by cumulative time.

The same text goes to ``benchmarks/results/profile-<variant>-<scenario>.txt``.
cProfile slows pure-Python code more than C code, so read shares, not absolute µs.
"""

from __future__ import annotations

import os
import sys
import pstats
import argparse
import tempfile
from typing import Any, Dict, List, Tuple, Optional
from collections import defaultdict

from .report import RESULTS_DIR
from .runner import SCENARIOS, Server, run_worker
from .variants import VARIANTS

Func = Tuple[str, int, str]
_STDLIB = os.path.dirname(os.__file__)
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
    for marker in ("/site-packages/", "/src/", _STDLIB + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})"


def analyse(stats_path: str, units: int, unit: str, top: int, focus: str = "microdc") -> str:
    stats: Dict[Func, Any] = pstats.Stats(stats_path).stats  # type: ignore[attr-defined]
    by_package: Dict[str, float] = defaultdict(float)
    total = idle = 0.0
    for func, (_cc, _nc, tt, _ct, callers) in stats.items():
        if func[0] == "~" and "select.epoll" in func[2]:  # waiting for the server, not CPU
            idle += tt
            continue
        total += tt
        if func[0] == "~" and callers:  # a builtin: charge whoever called it
            for caller, (_c, _n, ctt, _cct) in callers.items():
                by_package[package_of(caller[0])] += ctt
        else:
            by_package[package_of(func[0])] += tt
    per = 1e6 / max(units, 1)
    out: List[str] = [
        f"profiled: {total * per:,.1f} µs/{unit} busy (cProfile-inflated) + {idle * per:,.1f} µs/{unit} idle in epoll, "
        f"over {units:,} {unit}s",
        "",
    ]
    out.append("self time by package (builtins charged to their caller):")
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


def _cumulative(stats: Dict[Func, Any], file_suffix: str, name: str) -> Optional[float]:
    found = [v[3] for f, v in stats.items() if f[0].replace("\\", "/").endswith(file_suffix) and f[2] == name]
    return max(found) if found else None


def _header(unit: str) -> str:
    return f"  {'calls/' + unit:>10} {'self µs/' + unit:>14} {'cum µs/' + unit:>14}  function"


def _row(func: Func, v: Any, per: float, units: int) -> str:
    nc, tt, ct = v[1], v[2], v[3]
    return f"  {nc / max(units, 1):10.2f} {tt * per:14.1f} {ct * per:14.1f}  {_label(func)}"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="microdc", choices=list(VARIANTS))
    parser.add_argument("--scenario", default="get_c1", choices=[s for s in SCENARIOS if s != "import"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", default="", help="package whose functions to list (default: the variant's)")
    args = parser.parse_args(argv)
    focus = args.focus or _FOCUS.get(args.variant, "microdc")
    scenario = SCENARIOS[args.scenario]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stats.prof")
        with Server(max_seconds=900) as server:
            result = run_worker(scenario, args.variant, server.base_url, args.quick, profile=path)
        if result.get("status") != "ok":
            sys.exit(f"{args.variant} {args.scenario}: {result.get('status')}: {result.get('reason')}")
        text = f"# {args.variant} / {args.scenario}: {scenario.title}\n\n" + analyse(
            path, result["units"], scenario.unit, args.top, focus
        )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"profile-{args.variant}-{args.scenario}.txt").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
