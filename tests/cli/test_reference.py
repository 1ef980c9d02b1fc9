"""The command line covers the API, and its ``--help`` is a reference.

* Every method ``api.md`` lists (the generated reference of the SDK) has a command,
  and every parameter of the method an option, so a new endpoint in ``openapi.yml``
  fails here until the command line offers it.
* Every command's and group's ``--help`` (printed by a real ``microdc`` process)
  ends with example lines of that command and its exit status.
"""

from __future__ import annotations

import re
import sys
import json
import typing
import importlib
import subprocess
from typing import Dict, List, Tuple, Iterator
from pathlib import Path

import click
import pytest

from microdc.lib.cli._app import cli

API_MD = Path(__file__).parents[2] / "api.md"

COMMAND_OF_METHOD = {
    "jobs.create": "jobs create",
    "jobs.list": "jobs list",
    "jobs.retrieve": "jobs get",
    "jobs.cancel": "jobs cancel",
    "jobs.retrieve_status": "jobs status",
    "jobs.acknowledge": "jobs ack",
    "jobs.events": "jobs events",
    "files.upload": "files upload",
    "files.list": "files list",
    "files.retrieve": "files get",
    "files.delete": "files delete",
    "files.create_download_token": "files token",
    "files.content": "files download",
    "models.list": "models list",
    "models.retrieve": "models get",
}
"""The command that runs each SDK method."""

OPTION_OF_PARAMETER = {"type": "job_type", "status": "statuses", "file": "path"}
"""Where a command's option (its click name) is not named as the parameter it sets."""


def api_methods() -> Dict[str, List[str]]:
    """``api.md``'s methods, each with the modules of its params types (if any)."""
    methods: Dict[str, List[str]] = {}
    for line in API_MD.read_text().splitlines():
        found = re.search(r'client\.(\w+)\.<a href="[^"]+">(\w+)</a>', line)
        if found:
            methods[f"{found.group(1)}.{found.group(2)}"] = re.findall(r"\./src/microdc/types/(\w+_params)\.py", line)
    return methods


def parameters(module_name: str) -> List[str]:
    """The keys of the params ``TypedDict`` (or union of them) that a generated module exports."""
    module = importlib.import_module(f"microdc.types.{module_name}")
    value = getattr(module, module.__all__[0])
    variants = typing.get_args(typing.get_args(value)[0]) if typing.get_origin(value) is typing.Annotated else (value,)
    return sorted({key for variant in variants for key in variant.__annotations__})


def commands(group: click.Group = cli, path: Tuple[str, ...] = ()) -> Iterator[Tuple[Tuple[str, ...], click.Command]]:
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def find(path: str) -> click.Command:
    found = dict(commands())
    assert tuple(path.split()) in found, f"no command 'microdc {path}'"
    return found[tuple(path.split())]


def test_every_method_in_api_md_has_a_command() -> None:
    methods = api_methods()
    assert len(methods) >= 15  # the parse found the reference's methods
    assert sorted(methods) == sorted(COMMAND_OF_METHOD)
    for method in methods:
        find(COMMAND_OF_METHOD[method])


@pytest.mark.parametrize("method", sorted(COMMAND_OF_METHOD))
def test_every_parameter_of_a_method_has_an_option(method: str) -> None:
    command = find(COMMAND_OF_METHOD[method])
    names = {param.name for param in command.params}
    for module in api_methods()[method]:
        for parameter in parameters(module):
            assert OPTION_OF_PARAMETER.get(parameter, parameter) in names, f"{method}: no option for {parameter!r}"


WALK = """
import io, sys, json, contextlib
from microdc.lib.cli import run_cli

shown = {}
for path in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_cli([*path, "--help"])
    shown[" ".join(path)] = [code, out.getvalue()]
print(json.dumps(shown))
"""


@pytest.fixture(scope="module")
def helps() -> Dict[str, Tuple[int, str]]:
    """Every command's ``--help``, from one ``microdc`` process."""
    paths = [list(path) for path, _ in commands()]
    done = subprocess.run(
        [sys.executable, "-c", WALK, json.dumps(paths)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    shown: Dict[str, Tuple[int, str]] = {name: (code, text) for name, (code, text) in json.loads(done.stdout).items()}
    return shown


def section(text: str, title: str) -> List[str]:
    """The indented lines under ``title`` in a help text."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == title]
    assert len(starts) == 1, f"no single {title!r} in:\n{text}"
    found: List[str] = []
    for line in lines[starts[0] + 1 :]:
        if not line.strip():
            break
        found.append(line.strip())
    return found


@pytest.mark.parametrize("path", [" ".join(path) for path, _ in commands()], ids=lambda path: path or "microdc")
def test_every_help_shows_examples_and_exit_status(helps: Dict[str, Tuple[int, str]], path: str) -> None:
    code, text = helps[path]
    assert code == 0
    command = " ".join(["microdc", *path.split()])
    # An example may put root options first: `microdc --json models list`.
    examples = [re.sub(r"microdc( --json)+ ", "microdc ", example) for example in section(text, "Examples:")]
    assert examples
    assert all(command in example for example in examples), examples
    assert any(example.startswith(command) for example in examples)
    codes = [line.split(maxsplit=1) for line in section(text, "Exit status:")]
    assert [int(code) for code, _ in codes] == [0, 1, 2, 130]
    assert all(meaning for _, meaning in codes)
