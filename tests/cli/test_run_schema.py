"""``microdc jobs run --schema``: a Python class or a JSON Schema file; ``parsed`` in every result line."""

from __future__ import annotations

import json
from typing import Any, Dict, List
from pathlib import Path

import pydantic

from .conftest import Runner

LABELS = """
import pydantic


class Label(pydantic.BaseModel):
    label: str
    score: float = pydantic.Field(ge=0, le=1)


class Nested:
    class Tag(pydantic.BaseModel):
        tag: str
"""

SCHEMA: Dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "minLength": 1}, "count": {"type": "integer", "minimum": 1}},
    "required": ["answer", "count"],
    "additionalProperties": False,
}


class Label(pydantic.BaseModel):
    label: str
    score: float = pydantic.Field(ge=0, le=1)


def _write_inputs(path: Path, count: int) -> None:
    jobs: List[Dict[str, Any]] = [
        {"type": "llm_complete", "model": "json-1", "prompt": f"Label {i}", "max_tokens": 100} for i in range(count)
    ]
    jobs.append({"type": "llm_chat", "model": "json-1", "messages": [{"role": "user", "content": "Label chat"}]})
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))


def _results(path: Path) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_class_schema_writes_each_parsed_reply(microdc: Runner, tmp_path: Path) -> None:
    (tmp_path / "labels.py").write_text(LABELS)
    _write_inputs(tmp_path / "jobs.jsonl", 4)
    done = microdc("jobs", "run", "jobs.jsonl", "-o", "out.jsonl", "--schema", "labels:Label", "--no-progress")
    assert done.code == 0, done.stderr
    lines = _results(tmp_path / "out.jsonl")
    assert sorted(line["index"] for line in lines) == [0, 1, 2, 3, 4]
    for line in lines:
        assert line["status"] == "completed"
        assert line["parse_error"] is None
        assert Label.model_validate(line["parsed"]) is not None
        reply = line["job"]["result"].get("text") or line["job"]["result"]["message"]["content"]
        assert json.loads(reply.split("```json\n")[1].split("\n```")[0]) == line["parsed"]


def test_a_nested_class_and_a_re_ask_count_are_taken(microdc: Runner, tmp_path: Path) -> None:
    (tmp_path / "labels.py").write_text(LABELS)
    _write_inputs(tmp_path / "jobs.jsonl", 1)
    done = microdc(
        "jobs", "run", "jobs.jsonl", "--schema", "labels:Nested.Tag", "--max-reasks", "0", "--no-progress"
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert all(isinstance(json.loads(line)["parsed"]["tag"], str) for line in done.stdout.splitlines())


def test_a_json_schema_file_is_the_schema(microdc: Runner, tmp_path: Path) -> None:
    (tmp_path / "answer.schema.json").write_text(json.dumps(SCHEMA))
    _write_inputs(tmp_path / "jobs.jsonl", 2)
    done = microdc("--json", "jobs", "run", "jobs.jsonl", "-o", "out.jsonl", "--schema", "answer.schema.json")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["parse_errors"] == 0
    for line in _results(tmp_path / "out.jsonl"):
        assert set(line["parsed"]) == {"answer", "count"}
        assert line["parsed"]["count"] >= 1


def test_without_a_schema_the_lines_are_as_before(microdc: Runner, tmp_path: Path) -> None:
    _write_inputs(tmp_path / "jobs.jsonl", 1)
    done = microdc("jobs", "run", "jobs.jsonl", "--no-progress")
    assert done.code == 0, done.stderr
    assert all("parsed" not in json.loads(line) for line in done.stdout.splitlines())


def test_a_schema_that_cannot_be_found_is_one_line_of_usage_error(microdc: Runner, tmp_path: Path) -> None:
    _write_inputs(tmp_path / "jobs.jsonl", 1)
    (tmp_path / "labels.py").write_text(LABELS)
    (tmp_path / "broken.json").write_text("{not json")
    for value, says in [
        ("nosuchmodule:Label", "cannot import 'nosuchmodule'"),
        ("json:NoSuchClass", "'json' has no 'NoSuchClass'"),
        ("justaword", "neither a JSON Schema file nor MODULE:CLASS"),
        ("broken.json", "is not a JSON Schema file that can be read"),
        ("json:dumps", "is a function, not a class"),
        ("labels:Nested", "response_model must be a type"),
    ]:
        done = microdc("jobs", "run", "jobs.jsonl", "--schema", value)
        assert done.code == 2, (value, done.stderr)
        assert says in done.stderr
        assert "Traceback" not in done.stderr


def test_a_line_without_its_type_is_asked_for_the_schema_too(microdc: Runner, tmp_path: Path) -> None:
    (tmp_path / "labels.py").write_text(LABELS)
    (tmp_path / "jobs.jsonl").write_text(
        json.dumps({"model": "json-1", "prompt": "Label it", "max_tokens": 100}) + "\n"
    )
    done = microdc("jobs", "run", "jobs.jsonl", "--schema", "labels:Label", "--no-progress")
    assert done.code == 0, done.stderr
    (line,) = [json.loads(text) for text in done.stdout.splitlines()]
    assert line["job"]["type"] == "llm_complete"
    assert Label.model_validate(line["parsed"]) is not None


def test_the_help_shows_the_schema_options_and_an_example(microdc: Runner) -> None:
    done = microdc("jobs", "run", "--help")
    assert done.code == 0, done.stderr
    assert "--schema MODULE:CLASS|FILE.json" in done.stdout
    assert "--max-reasks" in done.stdout
    assert "--schema myapp.models:Label" in done.stdout
