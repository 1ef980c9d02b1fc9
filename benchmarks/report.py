"""Summaries, targets (PRODUCT.md section 3, issue 6) and the Markdown / JSON report."""

from __future__ import annotations

import os
import json
import datetime
import platform
import statistics
import subprocess
from typing import Any, Dict, List, Tuple, Optional
from pathlib import Path
from importlib import metadata

from .charts import Bar, Group, BarChart
from .runner import IMPORTS
from .variants import VARIANTS, BASELINES

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIB = 1024.0
PACKAGES = ("httpx", "httpcore", "httpcore2", "httpx2", "aiohttp", "pydantic", "pydantic-core", "openai", "microdc")

# scenario -> [(variant, baseline, max CPU ratio)] (PRODUCT.md section 3)
_REQUEST_TARGETS = [("microdc", "openai", 0.75), ("microdc_aiohttp", "raw_aiohttp", 2.0)]
CPU_TARGETS: Dict[str, List[Tuple[str, str, float]]] = {
    "get_c1": _REQUEST_TARGETS,
    "get_c64": _REQUEST_TARGETS,
    "create_c64": _REQUEST_TARGETS,
    "paginate": [("microdc", "raw_httpx", 1.00)],
}
RSS_TARGET = ("microdc", "raw_httpx", 10.0)  # MiB over the baseline, in every client scenario
IMPORT_TARGET = ("microdc", "httpx_pydantic", 40.0)  # ms over the baseline
IMPORTS_LABEL = "import httpx, pydantic"
# For information: the same allowance over what an asyncio + pydantic app has loaded anyway.
IMPORT_INFO = ("microdc", "asyncio_httpx_basemodel", 40.0)
IMPORT_INFO_LABEL = "import asyncio, httpx; from pydantic import BaseModel"


def machine_info() -> Dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: Dict[str, str] = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(terse=True),
        "versions": versions,
        "commit": commit or "unknown",
    }


def _stats(values: List[float]) -> Optional[Dict[str, float]]:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _ok(runs: List[Dict[str, Any]]) -> List[Optional[Dict[str, Any]]]:
    return [r if r.get("status") == "ok" else None for r in runs]


def summarise(scenario: str, data: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Per variant: status, CPU per unit, rate, peak RSS and the paired ratio to its baseline."""
    runs: Dict[str, List[Dict[str, Any]]] = data["runs"]
    out: Dict[str, Dict[str, Any]] = {}
    if scenario == "import":
        for name, rs in runs.items():
            good = [r for r in _ok(rs) if r is not None]
            out[name] = {
                "status": "ok" if good else (rs[0].get("status", "error") if rs else "error"),
                "reason": "" if good else (rs[0].get("reason", "") if rs else ""),
                "ms": _stats([r["ms"] for r in good]),
                "rss_mib": _stats([r["maxrss_kib"] / MIB for r in good]),
            }
        return out
    cpu_per: Dict[str, List[Optional[float]]] = {
        name: [None if r is None else r["cpu_s"] / r["units"] * 1e6 for r in _ok(rs)] for name, rs in runs.items()
    }
    for name, rs in runs.items():
        good = [r for r in _ok(rs) if r is not None]
        entry: Dict[str, Any] = {
            "status": "ok" if good else (rs[0].get("status", "error") if rs else "error"),
            "reason": "" if good else (rs[0].get("reason", "") if rs else ""),
            "errors": [r.get("reason", "") for r in rs if r.get("status") != "ok"],
            "cpu_us": _stats([c for c in cpu_per[name] if c is not None]),
            "rate": _stats([r["units"] / r["wall_s"] for r in good]),
            "rss_mib": _stats([r["maxrss_kib"] / MIB for r in good]),
            "connections": _stats([float(r["connections"]) for r in good if "connections" in r]),
            "baseline": BASELINES.get(name, "raw_httpx"),
            "ratio": None,
        }
        # Paired per-repetition ratios to every other variant (targets may name any of them).
        entry["ratios"] = {
            base: _stats([v / b for v, b in zip(cpu_per[name], values, strict=False) if v is not None and b])
            for base, values in cpu_per.items()
            if base != name
        }
        entry["ratio"] = entry["ratios"].get(entry["baseline"])
        out[name] = entry
    return out


def evaluate(summaries: Dict[str, Dict[str, Dict[str, Any]]], units: Dict[str, str]) -> List[Dict[str, Any]]:
    """Every target that applies to the scenarios run, with the measured value and pass/miss."""
    checks: List[Dict[str, Any]] = []
    for scenario, summary in summaries.items():
        if scenario == "import":
            for (name, base, extra), label, note in (
                (IMPORT_TARGET, IMPORTS_LABEL, ""),
                (IMPORT_INFO, IMPORT_INFO_LABEL, " (for information)"),
            ):
                got, ref = summary.get(name, {}).get("ms"), summary.get(base, {}).get("ms")
                measured = None if got is None or ref is None else got["median"] - ref["median"]
                text = f"import microdc ≤ `{label}` + {extra:.0f} ms{note}"
                checks.append(_check(scenario, text, measured, extra, "ms"))
            continue
        for name, base, limit in CPU_TARGETS.get(scenario, []):
            if name not in summary or base not in summary:
                continue  # a variant left out with --variant
            ratio = summary[name].get("ratios", {}).get(base)
            label = f"{name} CPU/{units.get(scenario, 'request')} ≤ {limit:.2f} x {base}"
            checks.append(_check(scenario, label, None if ratio is None else ratio["median"], limit, "x"))
        name, base, extra = RSS_TARGET
        if name not in summary or base not in summary:
            continue
        got, ref = summary.get(name, {}).get("rss_mib"), summary.get(base, {}).get("rss_mib")
        measured = None if got is None or ref is None else got["median"] - ref["median"]
        checks.append(_check(scenario, f"{name} peak RSS ≤ {base} + {extra:.0f} MiB", measured, extra, "MiB"))
    return checks


def _check(scenario: str, label: str, measured: Optional[float], limit: float, unit: str) -> Dict[str, Any]:
    if measured is None:
        result = "n/a"
    else:
        result = "pass" if measured <= limit else "MISS"
    return {"scenario": scenario, "target": label, "measured": measured, "limit": limit, "unit": unit, "result": result}


def _load(load: Optional[Dict[str, List[float]]]) -> str:
    if not load:
        return "unknown"
    return f"{load['start'][0]:.1f} at the start, {load['end'][0]:.1f} at the end (1 min; {os.cpu_count()} cores)"


def _fmt_stats(s: Optional[Dict[str, float]], digits: int = 1) -> str:
    if s is None:
        return "—"
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}-{s['max']:,.{digits}f})"


def _fmt_measured(check: Dict[str, Any]) -> str:
    m = check["measured"]
    if m is None:
        return "—"
    if check["unit"] == "x":
        return f"{m:.2f}x"
    return f"{m:+.1f} {check['unit']}"


def _target_for(scenario: str, name: str) -> str:
    for variant, base, limit in CPU_TARGETS.get(scenario, []):
        if variant == name:
            return f"≤ {limit:.2f}x {base}"
    return ""


def markdown(results: Dict[str, Any]) -> str:
    meta = results["meta"]
    summaries = results["summaries"]
    checks = results["targets"]
    lines = ["# microdc benchmark", ""]
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines += [
        f"- **Command:** `{meta['command']}`",
        f"- **Machine:** {m['cpu']}, {m['cores']} cores, {m['os']}; {m['python']}",
        f"- **Versions:** {versions}; commit {m['commit']}",
        f"- **When:** {meta['date']}, {meta['reps']} repetitions per variant (interleaved), "
        f"{results['elapsed_s']:.0f} s in all; load average {_load(results.get('loadavg'))}",
        "- CPU = user+sys `getrusage(RUSAGE_SELF)` of the client process over the timed loop (after a warm-up), "
        "per unit; cells are median (min-max) over repetitions; x = median of per-repetition ratios to the "
        "variant's baseline; new conns = TCP connections the client opened during the timed loop.",
        "",
        "## Targets",
        "",
        "| scenario | target | measured (median) | result |",
        "|---|---|---|---|",
    ]
    for c in checks:
        result = f"**{c['result']}**" if c["result"] == "MISS" else c["result"]
        lines.append(f"| {c['scenario']} | {c['target']} | {_fmt_measured(c)} | {result} |")
    for scenario, summary in summaries.items():
        data = results["scenarios"][scenario]
        lines += ["", f"## {scenario}: {data['title']}", ""]
        if scenario == "import":
            lines += _import_table(summary)
            continue
        unit = data["unit"]
        lines.append(
            f"{data['count']:,} {unit}s per run (warm-up {data['warmup']:,}), concurrency {data['concurrency']}."
        )
        lines += [
            "",
            f"| variant | CPU µs/{unit} | x baseline | target | {unit}s/s | peak RSS MiB [Δ baseline] | new conns |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in summary.items():
            if s["status"] != "ok":
                lines.append(f"| {name} | {s['status']}: {s['reason'][:120]} | | | | | |")
                continue
            ratio = s["ratio"]
            ratio_cell = (
                "—"
                if ratio is None
                else f"{ratio['median']:.2f}x {s['baseline']} ({ratio['min']:.2f}-{ratio['max']:.2f})"
            )
            target = _target_for(scenario, name)
            check = next(
                (c for c in checks if c["scenario"] == scenario and c["target"].startswith(f"{name} CPU")), None
            )
            verdict = "" if check is None else check["result"]
            shown = "" if check is None else f" ({_fmt_measured(check)})"
            target_cell = f"{target}: {'**MISS**' if verdict == 'MISS' else verdict}{shown}" if target else ""
            rss = s["rss_mib"]
            rss_cell = _fmt_stats(rss)
            base_rss = summary.get(s["baseline"], {}).get("rss_mib")
            if rss and base_rss and s["baseline"] != name:
                rss_cell += f" [{rss['median'] - base_rss['median']:+.1f}]"
            lines.append(
                f"| {name} | {_fmt_stats(s['cpu_us'])} | {ratio_cell} | {target_cell} | {_fmt_stats(s['rate'], 0)} "
                f"| {rss_cell} | {_fmt_stats(s['connections'], 0)} |"
            )
            if s["errors"]:
                lines.append(f"| ↳ {len(s['errors'])} failed run(s): {s['errors'][0][:120]} | | | | | | |")
    lines += ["", "Variants:", ""]
    lines += [f"- `{name}`: {desc}" for name, (_, _, desc) in VARIANTS.items()]
    return "\n".join(lines) + "\n"


def _import_table(summary: Dict[str, Dict[str, Any]]) -> List[str]:
    base = summary.get("httpx_pydantic", {}).get("ms")
    lines = ["| import | ms | Δ vs httpx+pydantic | RSS after, MiB |", "|---|---|---|---|"]
    for name, s in summary.items():
        if s["status"] != "ok":
            lines.append(f"| `{IMPORTS[name]}` | {s['status']}: {s['reason'][:120]} | | |")
            continue
        delta = "" if base is None else f"{s['ms']['median'] - base['median']:+.1f} ms"
        lines.append(f"| `{IMPORTS[name]}` | {_fmt_stats(s['ms'])} | {delta} | {_fmt_stats(s['rss_mib'])} |")
    return lines


def finish(raw: Dict[str, Any], command: str, reps: int, date: str) -> Tuple[str, Dict[str, Any]]:
    """Adds machine info, summaries and targets; writes latest.md and latest.json; returns the Markdown."""
    units = {name: data["unit"] for name, data in raw["scenarios"].items()}
    summaries = {name: summarise(name, data) for name, data in raw["scenarios"].items()}
    results = {
        "meta": {"command": command, "reps": reps, "date": date, "machine": machine_info()},
        "elapsed_s": raw["elapsed_s"],
        "loadavg": raw.get("loadavg"),
        "scenarios": raw["scenarios"],
        "summaries": summaries,
        "targets": evaluate(summaries, units),
    }
    text = markdown(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text(text, encoding="utf-8")
    (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return text, results


# --- The documentation's Performance page: SVG charts and their tables -------------------

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
VARIANT_LABELS = {
    "raw_httpx": "raw httpx",
    "raw_httpx_httpcore2": "raw httpx over httpcore2",
    "raw_aiohttp": "raw aiohttp",
    "microdc": "microdc",
    "microdc_aiohttp": "microdc + DefaultAioHttpClient",
    "openai": "openai-python",
}
SCENARIO_LABELS = {
    "get_c1": "GET, concurrency 1",
    "get_c64": "GET, concurrency 64",
    "create_c64": "jobs.create, concurrency 64",
    "paginate": "a page of 100 jobs",
    "sse": "an SSE event",
}
# The paired ratio the CPU tables show beside a variant: to the baseline its target names.
RATIO_TO = {"raw_httpx_httpcore2": "raw_httpx", "microdc": "openai", "microdc_aiohttp": "raw_aiohttp"}


def figures_from_results(results: Dict[str, Any]) -> Dict[str, Any]:
    """The part of a ``latest.json`` the documentation draws (the format of ``figures/clients.json``)."""
    meta = dict(results["meta"])
    meta["elapsed_s"] = round(results.get("elapsed_s", 0))
    meta["loadavg"] = _load(results.get("loadavg"))
    cpu: Dict[str, Dict[str, float]] = {}
    ratios: Dict[str, Dict[str, float]] = {}
    imports: Dict[str, Dict[str, float]] = {}
    for scenario, summary in results["summaries"].items():
        for name, s in summary.items():
            if s.get("status") != "ok":
                continue
            if scenario == "import":
                imports[name] = {
                    **{k: round(v, 1) for k, v in s["ms"].items()},
                    "rss_mib": round(s["rss_mib"]["median"], 1),
                }
            else:
                cpu.setdefault(scenario, {})[name] = round(s["cpu_us"]["median"], 1)
                ratio = s.get("ratios", {}).get(RATIO_TO.get(name, ""))
                if ratio is not None:
                    ratios.setdefault(scenario, {})[name] = round(ratio["median"], 2)
    targets = [
        {"scenario": c["scenario"], "target": c["target"], "measured": _fmt_measured(c), "result": c["result"]}
        for c in results["targets"]
    ]
    return {
        "source": f"python -m benchmarks.report figures ({meta['command']})",
        "meta": meta,
        "cpu_us": cpu,
        "ratios": ratios,
        "import_ms": imports,
        "targets": targets,
    }


def _bars(values: Dict[str, float], unit: str, reference: Optional[Tuple[str, float]] = None) -> List[Bar]:
    bars: List[Bar] = []
    for name, value in values.items():
        label = f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
        if reference is not None and name != reference[0] and reference[1]:
            label += f" ({value / reference[1]:.2f}x {VARIANT_LABELS.get(reference[0], reference[0])})"
        bars.append(Bar(VARIANT_LABELS.get(name, name), value, label))
    return bars


def _table(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _cpu_cell(cpu: Dict[str, float], ratios: Dict[str, float], name: str) -> str:
    if name not in cpu:
        return "—"
    cell = f"{cpu[name]:,}"
    if name in ratios:
        cell += f" ({ratios[name]:.2f}x {VARIANT_LABELS[RATIO_TO[name]]})"
    return cell


def _cpu_table(
    cpu: Dict[str, Dict[str, float]], ratios: Dict[str, Dict[str, float]], scenarios: List[str], unit: str
) -> str:
    """CPU per unit by variant, with each variant's paired ratio to the baseline of its target."""
    names = list(dict.fromkeys(n for s in scenarios for n in cpu.get(s, {})))
    rows = [
        [SCENARIO_LABELS.get(s, s)] + [_cpu_cell(cpu.get(s, {}), ratios.get(s, {}), n) for n in names]
        for s in scenarios
    ]
    return _table([f"CPU µs per {unit}"] + [VARIANT_LABELS.get(n, n) for n in names], rows)


def performance_figures(figures_dir: Path = FIGURES_DIR) -> Dict[str, Tuple[str, str]]:
    """Chart name -> (SVG, Markdown table) for every figure the committed JSON holds."""
    clients = json.loads((figures_dir / "clients.json").read_text(encoding="utf-8"))
    cpu = clients["cpu_us"]
    ratios = clients.get("ratios", {})
    out: Dict[str, Tuple[str, str]] = {}
    request_scenarios = [s for s in ("get_c1", "get_c64", "create_c64") if s in cpu]
    chart = BarChart(
        "CPU per request, by client and concurrency",
        "CPU µs per request (lower is better)",
        [
            Group(SCENARIO_LABELS[s], _bars(cpu[s], "µs", ("openai", cpu[s].get("openai", 0.0))))
            for s in request_scenarios
        ],
    )
    out["requests"] = (chart.svg(), _cpu_table(cpu, ratios, request_scenarios, "request"))
    for scenario, title, unit in (
        ("paginate", "CPU per page of 100 jobs", "page"),
        ("sse", "CPU per SSE event", "event"),
    ):
        if scenario in cpu:
            reference = ("raw_httpx", cpu[scenario].get("raw_httpx", 0.0))
            chart = BarChart(
                title, f"CPU µs per {unit} (lower is better)", [Group("", _bars(cpu[scenario], "µs", reference))]
            )
            out[scenario] = (chart.svg(), _cpu_table(cpu, ratios, [scenario], unit))
    imports = clients["import_ms"]
    if imports:
        base = imports.get("httpx_pydantic", {}).get("median")
        bars = [Bar(IMPORTS.get(n) or n, s["median"], f"{s['median']:.1f} ms") for n, s in imports.items()]
        target = (base + IMPORT_TARGET[2], f"target: httpx+pydantic + {IMPORT_TARGET[2]:.0f} ms") if base else None
        chart = BarChart(
            "import time in a fresh interpreter", "ms, median (lower is better)", [Group("", bars)], target
        )
        rows = [
            [
                f"`{IMPORTS.get(n, n)}`",
                f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})",
                "" if base is None else f"{s['median'] - base:+.1f} ms",
                f"{s['rss_mib']:.1f}",
            ]
            for n, s in imports.items()
        ]
        out["import"] = (chart.svg(), _table(["import", "ms", "Δ vs httpx+pydantic", "RSS after, MiB"], rows))
    batch_path = figures_dir / "batch_scale.json"
    if batch_path.exists():
        batch = json.loads(batch_path.read_text(encoding="utf-8"))
        runs = batch["runs"]
        full = sorted((r for r in runs if r["run"] == "full run"), key=lambda r: r["inputs"])
        first = full[0]["cpu_us_per_input"] if full else 0
        bars = [Bar("client CPU per input", r["cpu_us_per_input"], f"{r['cpu_us_per_input']} µs") for r in full]
        chart = BarChart(
            "jobs.batch: CPU per input against the number of inputs",
            "CPU µs per input (flat is the goal)",
            [Group(f"{r['inputs']:,} inputs", [bar]) for r, bar in zip(full, bars, strict=True)],
            (first * 1.2, f"target: 1.2x the {full[0]['inputs']:,} run") if full else None,
        )
        rows = [
            [
                r["run"],
                f"{r['inputs']:,}",
                f"{r['wall_s']} s",
                f"{r['cpu_us_per_input']} µs",
                f"{r['stall_ms']} ms",
                f"{r['peak_rss_mib']} MiB",
                f"{r['distinct_keys']:,} / {r['jobs']:,} / {r['replays']}",
            ]
            for r in runs
        ]
        header = ["run", "inputs", "wall", "client CPU / input", "longest stall", "peak RSS", "keys / jobs / replays"]
        out["batch"] = (chart.svg(), _table(header, rows) + "\n\n" + _batch_caption(batch["meta"]))
    decode_path = figures_dir / "sse_decode.json"
    if decode_path.exists():
        out["sse_decode"] = sse_decode_figure(json.loads(decode_path.read_text(encoding="utf-8")))
    compression_path = figures_dir / "compression.json"
    if compression_path.exists():
        out["compression"] = compression_figure(json.loads(compression_path.read_text(encoding="utf-8")))
    return out


def _batch_caption(meta: Dict[str, Any]) -> str:
    """Where and how the batch runs were measured (``figures/batch_scale.json``'s ``meta``)."""
    machine = meta["machine"]
    commands = " and ".join(f"`{command}`" for command in meta["commands"])
    return (
        f"{commands}, {meta['date']}; {meta['client']}; on {machine['cpu']} ({machine['cores']} cores,"
        f" {machine['python']}); {meta['loadavg']}."
    )


def run_meta(command: str, reps: int, load: Tuple[float, float]) -> Dict[str, Any]:
    """What a benchmark's figures JSON says of its run: command, date, repetitions, load, machine."""
    machine = machine_info()
    return {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "reps": reps,
        "loadavg": f"{load[0]:.1f} at the start, {load[1]:.1f} at the end (1 min)",
        "machine": {key: machine[key] for key in ("cpu", "cores", "python", "commit")},
    }


def _run_caption(module: str, meta: Dict[str, Any], what: str) -> str:
    """The line under a figure: the command, when, ``what`` was measured, where and under which load."""
    machine = meta["machine"]
    return (
        f"`uv run python -m benchmarks.{module} {meta['command']}`, {meta['date']}, {what}, on {machine['cpu']}"
        f" ({machine['cores']} cores, {machine['python']}); load average {meta['loadavg']}."
    )


def _us(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:,.0f} µs"


def _wall(identity: Optional[float], gzip: Optional[float]) -> str:
    if identity is None or gzip is None:
        return "—"
    return f"{identity / 1000:,.1f} → {gzip / 1000:,.1f} ms"


def compression_figure(figures: Dict[str, Any]) -> Tuple[str, str]:
    """``benchmarks/compression.py``'s run: bytes on the wire and the client's CPU, without and with gzip."""
    rows = figures["rows"]
    chart = BarChart(
        "gzip on loopback: the client's CPU per answer",
        "CPU µs per request: reading, decoding, json.loads (lower is better)",
        [
            Group(
                r["answer"],
                [
                    Bar(
                        "identity",
                        r["cpu_us_identity"],
                        f"{r['cpu_us_identity']:,} µs ({r['wire_bytes_identity']:,} B)",
                    ),
                    Bar(
                        "gzip",
                        r["cpu_us_gzip"],
                        f"{r['cpu_us_gzip']:,} µs ({r['wire_bytes_gzip']:,} B,"
                        f" {r['wire_bytes_gzip'] / r['wire_bytes_identity']:.0%})",
                    ),
                ],
            )
            for r in rows
        ],
    )
    table = _table(
        ["answer", "bytes on the wire", "client CPU per request", "of which zlib", "wall per request"],
        [
            [
                r["answer"],
                f"{r['wire_bytes_identity']:,} → {r['wire_bytes_gzip']:,}"
                f" ({r['wire_bytes_gzip'] / r['wire_bytes_identity']:.0%})",
                f"{r['cpu_us_identity']:,} → {r['cpu_us_gzip']:,} µs"
                f" ({r['cpu_us_gzip'] - r['cpu_us_identity']:+,} µs,"
                f" {r['cpu_us_gzip'] / r['cpu_us_identity'] - 1:+.0%})",
                _us(r["zlib_us"]),
                _wall(r["wall_us_identity"], r["wall_us_gzip"]),
            ]
            for r in rows
        ],
    )
    meta = figures["meta"]
    what = (
        f"{meta['client']}, {meta['requests']} requests per answer and encoding, {meta['reps']} repetitions (medians)"
    )
    return chart.svg(), table + "\n\n" + _run_caption("compression", meta, what)


SSE_DECODE_TARGET = 2.0  # PRODUCT.md section 3: decoding one event costs at most 2x json.loads of it


def sse_decode_figure(figures: Dict[str, Any]) -> Tuple[str, str]:
    """``benchmarks/sse_decode.py``'s run: each size's cost over ``json.loads``, as a chart and a table."""
    rows = figures["rows"]
    chart = BarChart(
        "Decoding one large event: CPU over json.loads of its data",
        "x json.loads, median (flat across sizes: linear; lower is better)",
        [
            Group(
                f"{r['kind']}, {r['mib']} MiB",
                [
                    Bar("decoder", r["decoder_ratio"], f"{r['decoder_ratio']:.2f}x ({r['decoder_ms']} ms)"),
                    Bar("AsyncStream item", r["stream_ratio"], f"{r['stream_ratio']:.2f}x ({r['stream_ms']} ms)"),
                ],
            )
            for r in rows
        ],
        (SSE_DECODE_TARGET, f"target: {SSE_DECODE_TARGET:.0f}x json.loads"),
    )
    table = _table(
        [
            "result",
            "event",
            "`json.loads`",
            "decoder",
            "`AsyncStream` item",
            "decoder / `json.loads`",
            "item / `json.loads`",
        ],
        [
            [
                r["kind"],
                f"{r['mib']} MiB",
                f"{r['json_ms']} ms",
                f"{r['decoder_ms']} ms",
                f"{r['stream_ms']} ms",
                f"{r['decoder_ratio']:.2f}x",
                f"{r['stream_ratio']:.2f}x",
            ]
            for r in rows
        ],
    )
    meta = figures["meta"]
    table += "\n\n" + _run_caption("sse_decode", meta, f"{meta['reps']} repetitions in {meta['chunk_kib']} KiB chunks")
    before = figures.get("before", [])
    if before:
        table += "\n\n" + _table(
            ["the decoder before (re-joined the unfinished line per chunk)", "decoder", "decoder / `json.loads`"],
            [[f"an event of {b['event_mb']} MB", f"{b['decoder_ms']:,} ms", f"{b['ratio']}x"] for b in before],
        )
    return chart.svg(), table


def machine_markdown(figures_dir: Path = FIGURES_DIR) -> str:
    """The machine, the command and the load of the client benchmarks, as a Markdown list."""
    meta = json.loads((figures_dir / "clients.json").read_text(encoding="utf-8"))["meta"]
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return "\n".join(
        [
            f"- **Command:** `{meta['command']}` ({meta['reps']} repetitions, interleaved, {meta['elapsed_s']} s)",
            f"- **When:** {meta['date']}, commit {m['commit']}; load average {meta['loadavg']}",
            f"- **Machine:** {m['cpu']}, {m['cores']} cores, {m['os']}; {m['python']}",
            f"- **Versions:** {versions}",
        ]
    )


def targets_markdown(figures_dir: Path = FIGURES_DIR) -> str:
    """The targets of PRODUCT.md section 3 and what the committed run measured."""
    targets = json.loads((figures_dir / "clients.json").read_text(encoding="utf-8"))["targets"]
    return _table(
        ["scenario", "target", "measured (median)", "result"],
        [[t["scenario"], t["target"], t["measured"], t["result"]] for t in targets],
    )


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m benchmarks.report figures RESULTS.json``: rewrite figures/clients.json from a run."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.report")
    sub = parser.add_subparsers(dest="command", required=True)
    figures = sub.add_parser("figures", help="write figures/clients.json (what the docs draw) from a latest.json")
    figures.add_argument("results", type=Path, help="a results file, e.g. benchmarks/results/latest.json")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    target = FIGURES_DIR / "clients.json"
    target.write_text(json.dumps(figures_from_results(results), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target.relative_to(FIGURES_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
