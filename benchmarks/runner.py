"""Runs the benchmark: the server, then every (scenario, repetition, variant) in a fresh process.

Within a scenario the variants run interleaved, A B C A B C ..., so that a slow
patch of the machine hits every variant alike. Progress goes to stderr; the
report (:mod:`benchmarks.report`) goes to stdout and ``benchmarks/results/``.
"""

from __future__ import annotations

import os
import sys
import json
import time
import select
import subprocess
from typing import Any, Dict, List, Optional, Sequence, cast
from pathlib import Path
from dataclasses import dataclass

ROOT = Path(__file__).resolve().parent.parent
WORKER_TIMEOUT = 300.0
SERVER_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # a worker kind (get, create, paginate, sse) or "import"
    unit: str
    concurrency: int
    n: int
    quick_n: int
    warmup: int
    quick_warmup: int
    title: str

    def count(self, quick: bool) -> int:
        return self.quick_n if quick else self.n

    def warmups(self, quick: bool) -> int:
        return self.quick_warmup if quick else self.warmup


SCENARIOS: Dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("get_c1", "get", "request", 1, 2000, 400, 200, 50, "GET /api/v1/jobs/{id}, concurrency 1"),
        Scenario("get_c64", "get", "request", 64, 3200, 640, 320, 128, "GET /api/v1/jobs/{id}, concurrency 64"),
        Scenario(
            "create_c64", "create", "request", 64, 3200, 640, 320, 128, "POST /api/v1/jobs/submit, concurrency 64"
        ),
        # n pages (whole passes over the 10,000 jobs); warm-up in pages.
        Scenario("paginate", "paginate", "page", 1, 200, 100, 10, 5, "10,000 jobs in pages of 100 (async for)"),
        # n output deltas (+1 job.completed event); warm-up stream of that many deltas.
        Scenario("sse", "sse", "event", 1, 10_000, 2_000, 500, 200, "one SSE stream of job.output.delta events"),
        Scenario("import", "import", "import", 1, 21, 7, 1, 1, "wall time of the import in a fresh interpreter"),
    )
}

# What each import variant runs in a fresh interpreter.
IMPORTS: Dict[str, str] = {
    "httpx_pydantic": "import httpx, pydantic",
    # What an asyncio app that uses pydantic has loaded anyway (pydantic's top level is lazy).
    "asyncio_httpx_basemodel": "import asyncio, httpx; from pydantic import BaseModel",
    "microdc": "import microdc",
    "openai": "import openai",
}


def child_env() -> Dict[str, str]:
    """The environment of every child: no SDK logging, and bytecode caching on (as users have it)."""
    env = dict(os.environ)
    env.pop("MICRODC_LOG", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONHASHSEED"] = "0"
    return env


class Server:
    """The loopback server process: started here, stopped by its PID."""

    def __init__(self, max_seconds: float) -> None:
        self.max_seconds = max_seconds
        self.proc: Optional[subprocess.Popen[str]] = None
        self.base_url = ""

    def __enter__(self) -> Server:
        cmd = [sys.executable, "-m", "benchmarks.server", "--port", "0", "--max-seconds", str(int(self.max_seconds))]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], SERVER_START_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"benchmark server did not start (got {line!r})")
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM to this PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def run_json(cmd: Sequence[str], timeout: float) -> Dict[str, Any]:
    """Runs a child to completion (killed at ``timeout``) and parses its last stdout line."""
    try:
        done = subprocess.run(
            list(cmd), cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"killed after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"status": "error", "reason": f"exit {done.returncode}: {' | '.join(tail)}"[:500]}
    return cast(Dict[str, Any], result)


def run_worker(scenario: Scenario, variant: str, base_url: str, quick: bool, profile: str = "") -> Dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        "--variant",
        variant,
        "--scenario",
        scenario.kind,
        "--base-url",
        base_url,
        "--n",
        str(scenario.count(quick)),
        "--warmup",
        str(scenario.warmups(quick)),
        "--concurrency",
        str(scenario.concurrency),
        "--timeout",
        str(int(WORKER_TIMEOUT - 10)),
    ]
    if profile:
        cmd += ["--profile", profile]
    return run_json(cmd, WORKER_TIMEOUT)


_IMPORT_CODE = (
    "import time\nt0 = time.perf_counter()\n{stmt}\nt1 = time.perf_counter()\n"
    "import json, resource\n"
    "print(json.dumps({{'status': 'ok', 'ms': (t1 - t0) * 1000.0, "
    "'maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))\n"
)


def run_import(variant: str) -> Dict[str, Any]:
    result = run_json([sys.executable, "-c", _IMPORT_CODE.format(stmt=IMPORTS[variant])], 120.0)
    if result.get("status") == "error" and "Error" in result.get("reason", ""):
        result["status"] = "unavailable"
    return result


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _describe(result: Dict[str, Any], unit: str) -> str:
    if result.get("status") != "ok":
        return f"{result.get('status')}: {result.get('reason', '')}"[:160]
    if unit == "import":
        return f"{result['ms']:.1f} ms"
    per = result["cpu_s"] / result["units"] * 1e6
    return (
        f"{per:,.1f} µs CPU/{unit}, {result['units'] / result['wall_s']:,.0f}/s, {result['maxrss_kib'] / 1024:.1f} MiB"
    )


def run_scenario(scenario: Scenario, variants: List[str], reps: int, quick: bool, base_url: str) -> Dict[str, Any]:
    is_import = scenario.kind == "import"
    names = list(IMPORTS) if is_import else variants
    reps = scenario.count(quick) if is_import else reps
    runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name in names}
    if is_import:
        for name in names:  # warm-up: compiles and caches bytecode, fills the page cache
            run_import(name)
    for rep in range(reps):
        for name in names:
            earlier = runs[name]
            if len(earlier) >= 2 and all(r.get("status") == "unavailable" for r in earlier[-2:]):
                earlier.append(earlier[-1])  # unavailable twice running: save the time
                continue
            result = run_import(name) if is_import else run_worker(scenario, name, base_url, quick)
            earlier.append(result)
            _log(f"  [{scenario.name} {rep + 1}/{reps}] {name:<20} {_describe(result, scenario.unit)}")
    return {
        "title": scenario.title,
        "unit": scenario.unit,
        "concurrency": scenario.concurrency,
        "count": None if is_import else scenario.count(quick),
        "warmup": None if is_import else scenario.warmups(quick),
        "reps": reps,
        "runs": runs,
    }


def run(scenarios: List[str], variants: List[str], reps: int, quick: bool) -> Dict[str, Any]:
    started = time.time()
    load_start = os.getloadavg()
    results: Dict[str, Any] = {}
    needs_server = any(SCENARIOS[name].kind != "import" for name in scenarios)
    server = Server(max_seconds=3600) if needs_server else None
    try:
        base_url = server.__enter__().base_url if server is not None else ""
        if server is not None:
            _log(f"server: {base_url} (pid {server.proc.pid if server.proc else '?'})")
        for name in scenarios:
            scenario = SCENARIOS[name]
            _log(f"{name}: {scenario.title}")
            results[name] = run_scenario(scenario, variants, reps, quick, base_url)
    finally:
        if server is not None:
            server.stop()
    return {
        "scenarios": results,
        "elapsed_s": time.time() - started,
        "loadavg": {"start": list(load_start), "end": list(os.getloadavg())},
    }
