"""The real ``remem`` CLI over odd inputs: every one ends with a non-zero exit and one
``Error: ...`` line on stderr, never a Python traceback (exit 1: remem, store or file
errors; exit 2: the command line itself is wrong). Read commands never create a store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from remem.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DEEP = "[" * 3000 + "]" * 3000
runner = CliRunner()


def check_failure(code: int, stderr: str, expected_code: int, needle: str) -> None:
    """A clean failure: the expected exit code, no traceback, and exactly one Error line, last."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, stderr
    assert errors[0].startswith("Error: ") and stderr.rstrip("\n").splitlines()[-1] == errors[0], stderr
    assert "unexpected" not in errors[0], stderr  # the bug fallback must never be what answers an input
    assert needle in errors[0], stderr
    assert code == expected_code, (code, stderr)


def invoke(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A store with one memory, and a set of awkward files beside it."""
    d = tmp_path_factory.mktemp("odd")
    db = str(d / "store.db")
    code, out, err = invoke("add", "I moved to Lisbon", "--path", db, "-u", "alice", "--json")
    assert code == 0, err
    made = {
        "db": db,
        "id": json.loads(out)[0]["id"],
        "dir": str(d),
        "missing": str(d / "missing.json"),
        "missing_db": str(d / "typo.db"),
        "deep_dir_db": str(d / "no" / "such" / "dir" / "x.db"),
    }
    content = {
        "binary": bytes(range(256)) * 8,
        "latin1": '[{"content": "caf\xe9 au lait"}]'.encode("latin-1"),
        "utf16": '[{"content": "hello"}]'.encode("utf-16"),
        "badjson": b'[{"content": "x",',
        "deepjson": DEEP.encode(),
        "number": b"42",
        "empty": b"",
        "emptycontent": b'[{"content": ""}]',
        "unknownfield": b'[{"content": "x", "mood": "happy"}]',
        "nocontent": b'[{"role": "user"}]',
        "badtime": b'[{"content": "x", "timestamp": "the day after never"}]',
        "badexport": b'{"record": {"id": "a1", "content": "ok"}}\n{not json\n',
        "listexport": b'[1, 2, 3]\n',
        "garbageexport": b'{"record": 5}\n',
        "foreign": b"not sqlite at all " * 100,
    }
    for name, data in content.items():
        (d / name).write_bytes(data)
        made[name] = str(d / name)
    yield made


# (args, expected exit code, text the Error line must contain); {name} is filled from `files`
CASES: list[tuple[list[str], int, str]] = [
    # JSON options
    (["add", "x", "-m", "{bad"], 2, "--metadata is not valid JSON"),
    (["add", "x", "-m", DEEP], 2, "--metadata is nested too deeply"),
    (["add", "x", "-m", '{"a": ' + DEEP + "}"], 2, "nested too deeply"),
    (["add", "x", "-m", '{"a": ' + "[" * 100 + "]" * 100 + "}"], 1, "nested"),
    (["add", "x", "-m", "[1, 2]"], 2, "--metadata must be a JSON object"),
    (["add", "x", "-m", "null"], 2, "must be a JSON object"),
    (["update", "{id}", "-m", "{bad"], 2, "--metadata is not valid JSON"),
    (["search", "x", "--filter", "novalue"], 2, "key=value"),
    (["search", "x", "--filter", "=v"], 2, "key=value"),
    (["search", "x", "--filter", "room=" + DEEP], 2, "nested too deeply"),
    # files given to add
    (["add", "--file", "{binary}"], 1, "contains NUL bytes"),
    (["add", "--file", "{utf16}"], 1, "not UTF-8"),
    (["add", "--file", "{latin1}"], 1, "is not UTF-8 text (byte 0xe9"),
    (["add", "--file", "{dir}"], 1, "is a directory"),
    (["add", "--file", "{missing}"], 1, "no such file"),
    (["add", "--file", "{badjson}"], 1, "is not JSON"),
    (["add", "--file", "{deepjson}"], 1, "nested too deeply"),
    (["add", "--file", "{number}"], 1, "must be a dict"),
    (["add", "--file", "{empty}"], 1, "nothing to add"),
    (["add", "--file", "{emptycontent}"], 1, "empty"),
    (["add", "--file", "{unknownfield}"], 1, "mood"),
    (["add", "--file", "{nocontent}"], 1, "content"),
    (["add", "--file", "{badtime}"], 1, "cannot parse"),
    # text and values given to add
    (["add", ""], 1, "empty"),
    (["add", "   "], 1, "empty"),
    (["add", "x" * 100_001], 1, "the limit is 100000"),
    (["add", "nul \x00 inside"], 1, "NUL"),
    (["add", "x", "-t", "not a date at all"], 2, "cannot parse"),
    (["add", "x", "-k", "dream"], 1, "unknown kind"),
    (["add", "x", "-u", ""], 1, "user_id"),
    (["add", "x", "-u", "u" * 300], 1, "longer than"),
    (["add", "x", "--batch-size", "0"], 2, "--batch-size"),
    (["add", "x", "--tenant", ""], 1, "tenant"),
    # numbers
    (["search", "x", "--limit", "-1"], 2, "--limit"),
    (["search", "x", "--limit", "0"], 2, "--limit"),
    (["search", "x", "--limit", "abc"], 2, "--limit"),
    (["search", "x", "--limit", "99999999999999999999999999"], 2, "--limit"),
    (["search", "x", "--limit", "1e3"], 2, "--limit"),
    (["search", "x", "--threshold", "nan"], 2, "--threshold"),
    (["search", "x", "--threshold", "-0.5"], 2, "--threshold"),
    (["list", "--offset", "-5"], 2, "--offset"),
    (["list", "--offset", "99999999999999999999999999"], 2, "--offset"),
    (["list", "--limit", "10001"], 2, "--limit"),
    (["context", "x", "--token-budget", "0"], 2, "--token-budget"),
    (["context", "x", "--neighbors", "-1"], 2, "--neighbors"),
    (["update", "{id}", "--importance", "2"], 2, "--importance"),
    (["update", "{id}", "--importance", "lots"], 2, "--importance"),
    # queries and times
    (["search", ""], 2, "QUERY is empty"),
    (["search", "  \t "], 2, "QUERY is empty"),
    (["context", ""], 2, "QUERY is empty"),
    (["search", "x", "--since", "2024-01-01", "--until", "2023-01-01"], 2, "--since 2024-01-01 is after --until 2023-01-01"),
    (["search", "x", "--since", "garbage o'clock"], 2, "cannot parse"),
    (["search", "x", "--now", "whenever"], 1, "cannot parse"),
    (["search", "x", "--mode", "psychic"], 1, "unknown search mode"),
    (["update", "{id}", "--valid-from", "2024-01-01", "--valid-to", "2020-01-01"], 2, "is after --valid-to"),
    # ids
    (["get", "no-such-id"], 1, "not_found"),
    (["get", ""], 1, "non-empty"),
    (["history", "no-such-id"], 1, "not_found"),
    (["delete", "no-such-id"], 1, "not_found"),
    (["update", "no-such-id", "-c", "x"], 1, "not_found"),
    (["update", "{id}"], 1, "at least one field"),
    (["keys", "revoke", "zz"], 1, "give the key itself"),
    # export / import
    (["export", "{dir}"], 1, "is a directory"),
    (["export", "/proc/remem-cannot-write.jsonl"], 1, "cannot write"),
    (["export", "{dir}/no/such/dir/out.jsonl"], 1, "does not exist"),
    (["import", "{missing}"], 1, "no such file"),
    (["import", "{dir}"], 1, "is a directory"),
    (["import", "{binary}"], 1, "NUL bytes"),
    (["import", "{badexport}"], 1, "line 2 is not JSON"),
    (["import", "{listexport}"], 1, "not a JSON object"),
    (["import", "{garbageexport}"], 1, "item 0"),
    (["import", "{badexport}", "--batch-size", "0"], 2, "--batch-size"),
    # usage
    (["nosuchcommand"], 2, "No such command"),
    (["search"], 2, "Missing argument"),
    (["purge"], 2, "Missing option"),
    (["search", "x", "--no-such-flag"], 2, "No such option"),
    (["serve", "--port", "70000"], 2, "--port"),
    (["serve", "--no-auth", "--host", "0.0.0.0"], 2, "refusing to serve without authentication"),
]


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    """``{name}`` placeholders replaced by the fixture's paths; JSON braces are left alone."""
    return [re.sub(r"\{(\w+)\}", lambda m: files.get(m.group(1), m.group(0)), a) for a in args]


def _beside(files: dict[str, str]) -> list[str]:
    """The fixture directory's entries, less the store's own files (WAL, vector cache)."""
    return sorted(n for n in os.listdir(files["dir"]) if not n.startswith("store.db"))


@pytest.mark.parametrize("args, code, needle", CASES, ids=[" ".join(a)[:60] for a, _, _ in CASES])
def test_odd_input_is_one_error_line(files: dict[str, str], args: list[str], code: int, needle: str) -> None:
    before = _beside(files)
    got, _, stderr = invoke(*_fill(args, files), "--path", files["db"])
    check_failure(got, stderr, code, needle)
    assert _beside(files) == before  # no stray files (exports go through a temp file)


def test_bad_input_changes_nothing(files: dict[str, str]) -> None:
    """An import with a bad line, or an add with one bad message, writes none of the good ones."""
    for args in (["import", files["badexport"]], ["add", "--file", files["unknownfield"]], ["add", "fine", "-k", "dream"]):
        assert invoke(*args, "--path", files["db"])[0] != 0
    code, out, _ = invoke("count", "--path", files["db"], "--json")
    assert code == 0 and json.loads(out) == {"count": 1}


READS = [
    ["list"], ["count"], ["stats"], ["search", "x"], ["context", "x"], ["get", "abc"], ["history", "abc"],
    ["export", "-"], ["delete", "abc"], ["update", "abc", "-c", "x"], ["purge", "-u", "alice", "--yes"],
    ["keys", "list"], ["keys", "revoke", "rk_x"],
]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
def test_reads_on_a_mistyped_path_do_not_create_a_store(files: dict[str, str], args: list[str]) -> None:
    code, _, stderr = invoke(*args, "--path", files["missing_db"])
    check_failure(code, stderr, 1, f"no store at {files['missing_db']}")
    assert not Path(files["missing_db"]).exists()


@pytest.mark.parametrize(
    "where, needle",
    [
        ("{deep_dir_db}", "does not exist"),
        ("/proc/remem-cannot-create.db", "cannot create a store in /proc"),
        ("{dir}", "is a directory"),
        ("{foreign}", "not a usable remem store"),
        ("{binary}/inside.db", "is not a directory"),
    ],
)
def test_writes_to_an_impossible_path(files: dict[str, str], where: str, needle: str) -> None:
    path = _fill([where], files)[0]
    code, _, stderr = invoke("add", "hello", "--path", path)
    check_failure(code, stderr, 1, needle)
    assert not Path(files["deep_dir_db"]).parent.parent.parent.exists()


def test_migrate_from_a_missing_store(files: dict[str, str], tmp_path: Path) -> None:
    code, _, stderr = invoke("migrate", "--from", files["missing_db"], "--to", str(tmp_path / "to.db"))
    check_failure(code, stderr, 1, "no store at")
    assert not (tmp_path / "to.db").exists()


def test_rich_markup_in_content_is_printed_verbatim(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    text = "[/b] [red]x[/red] [link=y]"
    assert invoke("add", text, "--path", db, "-u", "u")[0] == 0
    mid = json.loads(invoke("list", "--path", db, "--json")[1])[0]["id"]
    for args in (["list", "-u", "u"], ["search", "red link", "-u", "u"], ["history", mid], ["get", mid]):
        code, out, err = invoke(*args, "--path", db)
        assert code == 0, err
        assert "[/b] [red]x[/red]" in out and "[link=y]" in out
        if args[0] == "list":
            assert mid in out  # the id is on one line, whole


# -- the real process: bytes on the command line, stdin, encodings ----------------------------


def remem(*args: str | bytes, stdin: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("REMEM_PATH", None)
    argv = [os.fsencode(sys.executable), b"-m", b"remem", *[a if isinstance(a, bytes) else os.fsencode(a) for a in args]]
    return subprocess.run(argv, input=stdin, capture_output=True, env=full_env, timeout=300)


def check_process_failure(result: subprocess.CompletedProcess, code: int, needle: str) -> None:
    check_failure(result.returncode, result.stderr.decode("utf-8", "replace"), code, needle)


@pytest.mark.parametrize(
    "args, code, needle",
    [
        ([b"add", b"\xff\xfe not utf-8"], 2, "CONTENT is not valid UTF-8 text"),
        ([b"search", b"caf\xe9"], 2, "QUERY is not valid UTF-8 text"),
        ([b"add", b"x", b"-u", b"\xff"], 2, "--user-id is not valid UTF-8 text"),
        ([b"add", b"x", b"-m", b'{"a": "\xff"}'], 2, "--metadata is not valid UTF-8 text"),
        ([b"search", b"x", b"--filter", b"k=\xe9"], 2, "--filter is not valid UTF-8 text"),
        ([b"add", b"x", b"--tenant", b"t\x80"], 2, "--tenant is not valid UTF-8 text"),
        ([b"search", b"x", b"--limit", b"abc"], 2, "--limit"),
        ([b"add", b"x", b"-m", DEEP.encode()], 2, "nested too deeply"),
        ([b"get", b"no-such-id"], 1, "not_found"),
    ],
)
def test_bytes_on_the_command_line(files: dict[str, str], args: list[bytes], code: int, needle: str) -> None:
    check_process_failure(remem(*args, b"--path", files["db"]), code, needle)


def test_non_utf8_stdin_and_path_names(files: dict[str, str], tmp_path: Path) -> None:
    result = remem("add", "--file", "-", "--path", files["db"], stdin=b'[{"content": "caf\xe9"}]')
    check_process_failure(result, 1, "stdin is not UTF-8 text")
    odd = os.fsencode(str(tmp_path)) + b"/\xffmissing.db"
    check_process_failure(remem(b"list", b"--path", odd), 1, "no store at")
    made = os.fsencode(str(tmp_path)) + b"/store-\xff.db"  # a valid (non-UTF-8) file name is fine for a store
    assert remem(b"add", b"hello", b"--path", made).returncode == 0
    stats = remem(b"stats", b"--json", b"--path", made)
    assert stats.returncode == 0 and json.loads(stats.stdout)["memories"] == 1


def test_an_ascii_terminal_does_not_crash_output(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    assert remem("add", "café ☕ naïve", "--path", db, "-u", "u").returncode == 0
    for args in (["list", "-u", "u"], ["list", "-u", "u", "--json"], ["search", "café", "-u", "u"]):
        result = remem(*args, "--path", db, env={"PYTHONIOENCODING": "ascii"})
        assert result.returncode == 0, result.stderr
        assert b"Traceback" not in result.stderr and b"caf" in result.stdout


def test_verbose_logs_what_happens(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    quiet = invoke("add", "hello", "--path", db)
    assert quiet[0] == 0 and "INFO" not in quiet[2]
    code, _, stderr = invoke("-v", "add", "hello again", "--path", db)
    assert code == 0
    assert f"opening store {db}" in stderr and "added 1 new memories" in stderr
    code, _, stderr = invoke("-vv", "get", "nope", "--path", db)
    assert code == 1 and "Traceback" in stderr and stderr.rstrip().splitlines()[-1].startswith("Error: ")


def test_help_shows_flags_as_flags_and_every_option_has_help() -> None:
    import typer

    root = typer.main.get_command(app)

    def walk(cmd, trail: str) -> Iterator[tuple[str, object]]:  # noqa: ANN001
        yield trail, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, f"{trail} {name}")

    for trail, cmd in walk(root, "remem"):
        if trail.startswith("remem eval"):
            continue  # remem/eval/cli.py is the evaluation layer's
        for param in cmd.params:  # type: ignore[attr-defined]
            if param.param_type_name != "option":
                continue
            assert param.help, f"{trail} {param.opts} has no help text"
        code, out, _ = invoke(*trail.split()[1:], "--help")
        assert code == 0 and "<bool>" not in out, out  # a flag is shown as --json, never --json <bool>
        if trail == "remem search":
            assert re.search(r"^  --json\s+Print JSON", out, re.M) and re.search(r"^  --explain\s+Show", out, re.M)
