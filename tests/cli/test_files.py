"""``microdc files upload|list|get|delete|download|token``, and a document job over an uploaded file."""

from __future__ import annotations

import os
import sys
import json
import stat
import asyncio
import subprocess
from typing import Any, Dict, List
from pathlib import Path

import pytest

from .conftest import COMMAND, Runner
from .test_jobs import fields
from ..reliability._raw_server import RawServer, send, response, json_response, send_then_close


def upload(microdc: Runner, path: Path) -> Dict[str, Any]:
    uploaded = microdc("--json", "files", "upload", str(path))
    assert uploaded.code == 0, uploaded.stderr
    file: Dict[str, Any] = json.loads(uploaded.stdout)
    return file


def token_for(microdc: Runner, file_id: str) -> str:
    made = microdc("files", "token", file_id, "--json")
    assert made.code == 0, made.stderr
    token: str = json.loads(made.stdout)["token"]
    return token


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

    # Default: saved under the file's own name in the current directory, with a new file's mode.
    (tmp_path / "out").mkdir()
    microdc.cwd = tmp_path / "out"
    saved = microdc("files", "download", file_id)
    assert saved.code == 0, saved.stderr
    assert (tmp_path / "out" / "notes.txt").read_bytes() == source.read_bytes()
    assert saved.stdout == f"Saved {source.stat().st_size} bytes to notes.txt\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out" / "notes.txt").stat().st_mode) == 0o666 & ~umask
    assert os.listdir(tmp_path / "out") == ["notes.txt"]  # no temporary file left behind

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
    assert not (tmp_path / "x").exists()


def test_a_token_download_needs_no_api_key(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    source.write_text("the quarterly numbers\n")
    file = upload(microdc, source)
    token = token_for(microdc, file["id"])
    (tmp_path / "out").mkdir()
    microdc.cwd = tmp_path / "out"

    to_stdout = microdc("files", "download", file["id"], "--token", token, "-o", "-", MICRODC_API_KEY=None)
    assert to_stdout.code == 0, to_stdout.stderr
    assert to_stdout.stdout == source.read_text()

    # No -o: the name comes from the answer, since without the key the metadata cannot be read.
    saved = microdc("files", "download", file["id"], "--token", token, MICRODC_API_KEY=None)
    assert saved.code == 0, saved.stderr
    assert (tmp_path / "out" / "report.txt").read_text() == source.read_text()

    refused = microdc("files", "download", file["id"], "--token", "dltok_forged", "-o", "-", MICRODC_API_KEY=None)
    assert refused.code == 1
    assert refused.stderr.startswith("Error: PermissionDeniedError: ")
    assert refused.stdout == ""

    # Without a token the key is still needed, and the error says how to give it.
    keyless = microdc("files", "download", file["id"], "-o", "-", MICRODC_API_KEY=None)
    assert keyless.code == 2
    assert keyless.stderr.startswith("Error: No API key: set MICRODC_API_KEY or pass --api-key.")


def test_an_existing_file_is_replaced_only_with_force(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("new content\n")
    file = upload(microdc, source)
    target = tmp_path / "keep.txt"
    target.write_text("precious\n")
    target.chmod(0o640)

    refused = microdc("files", "download", file["id"], "-o", str(target))
    assert refused.code == 1
    assert refused.stderr == f"Error: {target} exists: pass --force to replace it, or -o to choose another path.\n"
    assert target.read_text() == "precious\n"

    microdc.cwd = tmp_path
    by_name = microdc("files", "download", file["id"])  # notes.txt is there already: the source itself
    assert by_name.code == 1
    assert "notes.txt exists: pass --force" in by_name.stderr

    forced = microdc("files", "download", file["id"], "-o", str(target), "--force")
    assert forced.code == 0, forced.stderr
    assert target.read_text() == "new content\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the replaced file's mode is kept
    assert sorted(os.listdir(tmp_path)) == ["keep.txt", "notes.txt"]


@pytest.mark.skipif(sys.platform == "win32", reason="subprocess against a loopback server in this event loop")
async def test_a_download_that_breaks_off_leaves_no_file_and_the_old_one_intact(tmp_path: Path) -> None:
    meta = {
        "id": "file_1",
        "object": "file",
        "filename": "big.bin",
        "bytes": 100_000,
        "content_type": "application/octet-stream",
        "purpose": "document",
        "sha256": "0" * 64,
        "created_at": "2026-01-01T00:00:00Z",
        "token": "ftok_1",
    }
    # Metadata, then an answer that promises 100,000 bytes, sends 1,000 and closes.
    half = response(200, b"x" * 1000, headers={"content-type": "application/octet-stream"}, content_length=100_000)

    async def run(server: RawServer, *args: str) -> subprocess.CompletedProcess[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRODC_")}
        env.update(MICRODC_API_KEY="key", MICRODC_BASE_URL=server.url)
        process = await asyncio.create_subprocess_exec(
            *COMMAND, "--max-retries", "0", *args, cwd=tmp_path, env=env, stdout=-1, stderr=-1
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
        return subprocess.CompletedProcess(args, process.returncode or 0, out, err)

    async with RawServer(send(json_response(200, meta)), send_then_close(half)) as server:
        fresh = await run(server, "files", "download", "file_1")
    assert fresh.returncode == 1
    [line] = fresh.stderr.decode().splitlines()
    assert line.startswith("Error: The download of file_1 broke off (")
    assert line.endswith("; nothing was saved.")
    assert os.listdir(tmp_path) == []

    kept = tmp_path / "big.bin"
    kept.write_bytes(b"the old version")
    async with RawServer(send_then_close(half)) as server:
        forced = await run(server, "files", "download", "file_1", "-o", str(kept), "--force")
    assert forced.returncode == 1
    assert kept.read_bytes() == b"the old version"
    assert os.listdir(tmp_path) == ["big.bin"]


def test_files_list_pages_get_and_delete(microdc: Runner, tmp_path: Path) -> None:
    ids: List[str] = []
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
        ids.append(upload(microdc, tmp_path / name)["id"])
    newest = list(reversed(ids))

    table = microdc("files", "list", "--limit", "2")
    assert table.code == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "FILENAME", "BYTES", "PURPOSE", "CREATED"]
    assert [row.split()[:3] for row in rows] == [[newest[0], "c.txt", "5"], [newest[1], "b.txt", "5"]]
    assert table.stderr == f"(More files: add --after {newest[1]} for the next page, or --all for every one.)\n"

    after = json.loads(microdc("--json", "files", "list", "--limit", "1", "--after", newest[1]).stdout)
    assert [file["id"] for file in after] == [newest[2]]
    everything = json.loads(microdc("--json", "files", "list", "--all").stdout)
    assert [file["id"] for file in everything][:3] == newest

    got = microdc("files", "get", ids[0])
    assert got.code == 0, got.stderr
    assert fields(got.stdout)["filename"] == "a.txt"
    assert json.loads(microdc("files", "get", ids[0], "--json").stdout)["sha256"]

    deleted = microdc("files", "delete", ids[0])
    assert deleted.code == 0, deleted.stderr
    assert fields(deleted.stdout) == {"id": ids[0], "deleted": "yes"}
    again = microdc("--json", "files", "delete", ids[1])
    assert json.loads(again.stdout) == {"id": ids[1], "object": "file.deleted", "deleted": True}
    gone = microdc("files", "get", ids[0])
    assert gone.code == 1
    assert gone.stderr.startswith("Error: NotFoundError: ")


def test_upload_of_a_missing_path_is_a_usage_error(microdc: Runner, tmp_path: Path) -> None:
    result = microdc("files", "upload", str(tmp_path / "nope.txt"))
    assert result.code == 2
    assert "does not exist" in result.stderr
