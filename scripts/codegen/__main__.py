"""``scripts/generate [--check]``: regenerate the SDK's API layer from openapi.yml."""

from __future__ import annotations

import sys
import hashlib
import argparse
from typing import Dict, List, Optional
from pathlib import Path

import yaml

from .spec import SpecError, load_api
from .config import CONFIG_PATH, load_config
from .output import stale_files, write_files, format_python, differing_files
from .render_docs import render_stats, render_api_md
from .render_spec import render_spec
from .render_tests import render_tests
from .render_types import render_types
from .render_client import render_client, render_exports
from .render_resources import render_resources

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi.yml"


def generate(spec_text: str, config_text: str) -> Dict[str, str]:
    """Every generated file by its path relative to the repository, unformatted."""
    config = load_config(config_text)
    doc = yaml.safe_load(spec_text)
    api = load_api(doc, config)
    files: Dict[str, str] = {}
    files.update(render_spec(doc))
    files.update(render_types(api))
    files.update(render_resources(api, config.pagination))
    files["src/microdc/_client_resources.py"] = render_client(api, config)
    files["src/microdc/_exports.py"] = render_exports(config)
    files.update(render_tests(api, config))
    files["api.md"] = render_api_md(api, config)
    files[".stats.yml"] = render_stats(
        api,
        spec_hash=hashlib.sha256(spec_text.encode()).hexdigest(),
        config_hash=hashlib.sha256(config_text.encode()).hexdigest(),
    )
    return files


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/generate", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the files that differ from what would be generated and exit 1 if any",
    )
    args = parser.parse_args(argv)
    try:
        raw = generate(SPEC_PATH.read_text(encoding="utf-8"), CONFIG_PATH.read_text(encoding="utf-8"))
    except SpecError as exc:
        print(f"scripts/generate: openapi.yml: {exc}", file=sys.stderr)
        return 2
    files = format_python(raw, ROOT)
    if args.check:
        differing = differing_files(files, ROOT)
        stale = stale_files(files, ROOT)
        for path in differing:
            print(f"differs: {path}")
        for path in stale:
            print(f"should not exist: {path}")
        if differing or stale:
            print("scripts/generate --check: generated files are out of date; run scripts/generate", file=sys.stderr)
            return 1
        print(f"scripts/generate --check: {len(files)} generated files are up to date")
        return 0
    touched = write_files(files, ROOT)
    for path in touched:
        print(f"wrote: {path}" if path in files else f"deleted: {path}")
    print(f"scripts/generate: {len(files)} files, {len(touched)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
