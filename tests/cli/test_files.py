"""``microdc files upload|download|token``, and a document job over an uploaded file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import COMMAND, Runner
from .test_jobs import fields


def test_upload_download_and_token(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("first page\fsecond page\n")

    uploaded = microdc("files", "upload", str(source))
    assert uploaded.code == 0, uploaded.stderr
    file = fields(uploaded.stdout)
    assert file["filename"] == "notes.txt"
    assert file["bytes"] == str(len(source.read_bytes()))
    assert file["token"]
    file_id = file["id"]

    as_json = json.loads(microdc("files", "upload", str(source), "--purpose", "document", "--json").stdout)
    assert as_json["purpose"] == "document"

    # Default: saved under the file's own name in the current directory.
    (tmp_path / "out").mkdir()
    microdc.cwd = tmp_path / "out"
    saved = microdc("files", "download", file_id)
    assert saved.code == 0, saved.stderr
    assert (tmp_path / "out" / "notes.txt").read_bytes() == source.read_bytes()
    assert "Saved" in saved.stdout

    token = microdc("files", "token", file_id, "--expires-in", "120", "--json")
    assert token.code == 0, token.stderr
    made = json.loads(token.stdout)
    assert made["file_id"] == file_id
    assert made["url"]

    target = tmp_path / "copy.txt"
    with_token = microdc("files", "download", file_id, "--token", made["token"], "-o", str(target), "--json")
    assert with_token.code == 0, with_token.stderr
    assert json.loads(with_token.stdout) == {"file_id": file_id, "path": str(target), "bytes": target.stat().st_size}
    assert target.read_bytes() == source.read_bytes()

    raw = subprocess.run(
        [*COMMAND, "files", "download", file_id, "-o", "-"],
        capture_output=True,
        env=microdc.env(),
        timeout=60,
        check=False,
    )
    assert raw.returncode == 0
    assert raw.stdout == source.read_bytes()

    document = microdc("jobs", "create", "--model", "doc-1", "--file-token", file["token"], "--wait", "--json")
    assert document.code == 0, document.stderr
    assert json.loads(document.stdout)["result"]["text"] == source.read_text()

    shown = microdc("files", "token", file_id)
    assert fields(shown.stdout)["file_id"] == file_id

    missing = microdc("files", "download", "file_nope", "-o", str(tmp_path / "x"))
    assert missing.code == 1
    assert missing.stderr.startswith("Error: NotFoundError: ")


def test_upload_of_a_missing_path_is_a_usage_error(microdc: Runner, tmp_path: Path) -> None:
    result = microdc("files", "upload", str(tmp_path / "nope.txt"))
    assert result.code == 2
    assert "does not exist" in result.stderr
