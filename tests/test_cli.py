"""The CLI mirrors the API: each subcommand, its JSON output and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remem.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def cli_json(*args: str) -> object:
    code, output = cli(*args, "--json")
    assert code == 0, output
    return json.loads(output)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def test_add_search_get_update_history_delete(db: str) -> None:
    added = cli_json("add", "I moved to Lisbon in May", "My cat is called Miso", "--path", db, "-u", "alice", "-s", "s1",
                     "-t", "2023-05-08", "-m", '{"src": "cli"}')
    assert [r["content"] for r in added] == ["I moved to Lisbon in May", "My cat is called Miso"]
    assert added[0]["metadata"] == {"src": "cli"} and added[0]["session_id"] == "s1"
    hits = cli_json("search", "what is the cat's name?", "--path", db, "-u", "alice", "-n", "1")
    assert hits[0]["memory"]["content"] == "My cat is called Miso" and "explanation" in hits[0]
    memory_id = hits[0]["memory"]["id"]
    assert cli_json("get", memory_id, "--path", db)["content"] == "My cat is called Miso"
    assert cli_json("update", memory_id, "--path", db, "-c", "My cat is called Mochi", "--reason", "typo")["version"] == 2
    history = cli_json("history", memory_id, "--path", db)
    assert [h["op"] for h in history] == ["ADD", "UPDATE"] and history[1]["reason"] == "typo"
    cli_json("delete", memory_id, "--path", db)
    assert [r["id"] for r in cli_json("list", "--path", db, "-u", "alice")] == [added[0]["id"]]
    assert len(cli_json("list", "--path", db, "-u", "alice", "--include-deleted")) == 2


def test_tables_by_default(db: str) -> None:
    cli("add", "hello there", "--path", db, "-u", "u")
    code, output = cli("search", "hello", "--path", db, "-u", "u")
    assert code == 0 and "hello there" in output and "score" in output
    code, output = cli("stats", "--path", db)
    assert code == 0 and "all-MiniLM-L6-v2-int8" in output


def test_filters_and_kinds(db: str) -> None:
    cli_json("add", "from the kitchen", "--path", db, "-u", "u", "-m", '{"room": "kitchen", "n": 2}')
    cli_json("add", "from the garden", "--path", db, "-u", "u", "-m", '{"room": "garden", "n": 5}')
    hits = cli_json("search", "from", "--path", db, "-u", "u", "--filter", "room=garden")
    assert [h["memory"]["content"] for h in hits] == ["from the garden"]
    hits = cli_json("search", "from", "--path", db, "-u", "u", "--filter", 'n={"lt": 3}')
    assert [h["memory"]["content"] for h in hits] == ["from the kitchen"]


def test_add_from_file_and_stdin(db: str, tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}]
    f = tmp_path / "m.json"
    f.write_text(json.dumps(messages))
    assert len(cli_json("add", "--file", str(f), "--path", db, "-u", "u")) == 2
    code, output = cli("add", "--file", "-", "--path", db, "-u", "u", "--json",
                       input="\n".join(json.dumps(m) for m in messages))
    assert code == 0 and len(json.loads(output)) == 2


def test_export_import_round_trip(db: str, tmp_path: Path) -> None:
    cli_json("add", "alpha", "beta", "--path", db, "-u", "u", "-t", "2024-01-01")
    out = tmp_path / "dump.jsonl"
    code, output = cli("export", str(out), "--path", db)
    assert code == 0 and len(out.read_text().splitlines()) == 2
    copy = str(tmp_path / "copy.db")
    assert cli_json("import", str(out), "--path", copy) == {"imported": 2, "skipped": 0}
    assert cli_json("import", str(out), "--path", copy) == {"imported": 0, "skipped": 2}
    assert sorted(r["content"] for r in cli_json("list", "--path", copy, "-u", "u")) == ["alpha", "beta"]


def test_purge_needs_confirmation(db: str) -> None:
    cli_json("add", "secret", "--path", db, "-u", "alice")
    code, _ = cli("purge", "-u", "alice", "--path", db, input="n\n")
    assert code == 1 and len(cli_json("list", "--path", db, "-u", "alice")) == 1
    assert cli_json("purge", "-u", "alice", "--path", db, "--yes") == {"user_id": "alice", "purged": 1}
    assert cli_json("list", "--path", db, "-u", "alice") == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["get", "nope"], "not_found"),
        (["add", ""], "empty"),
        (["add"], "nothing to add"),
        (["add", "x", "-m", "{bad"], "--metadata is not valid JSON"),
        (["add", "x", "-k", "dream"], "unknown kind"),
        (["search", "x", "--filter", "novalue"], "key=value"),
        (["search", "x", "--mode", "psychic"], "unknown search mode"),
        (["update", "nope", "-c", "x"], "not_found"),
        (["import", "/nonexistent/file.jsonl"], "no such file"),
    ],
)
def test_errors_exit_non_zero_with_a_message(db: str, args: list[str], message: str) -> None:
    code, output = cli(*args, "--path", db)
    assert code != 0
    assert message in output


def test_foreign_store_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite" * 200)
    code, output = cli("stats", "--path", str(bad))
    assert code == 1 and "not a usable remem store" in output


def test_remem_path_env_and_demo(tmp_path: Path) -> None:
    env = {**os.environ, "REMEM_PATH": str(tmp_path / "env.db"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "remem", "demo"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "allergic to peanuts" in result.stdout
    assert (tmp_path / "env.db").exists()
    again = subprocess.run([sys.executable, "-m", "remem", "stats", "--json"], capture_output=True, text=True, env=env, timeout=300)
    first_count = json.loads(again.stdout)["memories"]
    subprocess.run([sys.executable, "-m", "remem", "demo"], capture_output=True, text=True, env=env, timeout=300, check=True)
    again = subprocess.run([sys.executable, "-m", "remem", "stats", "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(again.stdout)["memories"] == first_count  # the demo is idempotent


def test_help_lists_every_command() -> None:
    code, output = cli("--help")
    assert code == 0
    for name in ("add", "search", "context", "get", "list", "update", "delete", "history", "purge", "import", "export", "stats", "demo"):
        assert name in output


def test_tenants_count_and_time_options(db: str) -> None:
    cli_json("add", "acme secret plan", "--path", db, "-u", "u", "--tenant", "acme")
    assert cli_json("count", "--path", db, "-u", "u") == {"count": 0}
    assert cli_json("count", "--path", db, "-u", "u", "--tenant", "acme") == {"count": 1}
    assert cli_json("search", "secret plan", "--path", db, "-u", "u") == []
    [fact] = cli_json("add", "Alice lives in Porto", "--path", db, "-u", "alice", "-k", "semantic")
    updated = cli_json("update", fact["id"], "--path", db, "--valid-from", "2020-01-01", "--valid-to", "2023-05-01",
                       "--tags", "home, city", "--importance", "0.9")
    assert updated["tags"] == ["home", "city"] and updated["importance"] == 0.9
    assert cli_json("search", "where does alice live", "--path", db, "-u", "alice") == []
    past = cli_json("search", "where does alice live", "--path", db, "-u", "alice", "--as-of", "2022-01-01")
    assert [h["memory"]["content"] for h in past] == ["Alice lives in Porto"]
    code, output = cli("context", "where does alice live", "--path", db, "-u", "alice", "--as-of", "2022-01-01")
    assert code == 0 and "Alice lives in Porto" in output


def test_remem_path_may_be_a_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from remem.memory import default_path

    monkeypatch.setenv("REMEM_PATH", "postgresql://u@127.0.0.1:5432/db")
    assert default_path() == "postgresql://u@127.0.0.1:5432/db"
    monkeypatch.setenv("REMEM_PATH", f"sqlite:{tmp_path}/x.db")
    assert default_path() == f"sqlite:{tmp_path}/x.db"
    monkeypatch.setenv("REMEM_PATH", "~/m.db")
    assert default_path() == Path("~/m.db").expanduser()


def test_search_threshold(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    assert cli("add", "I am allergic to peanuts.", "--path", db, "-u", "u")[0] == 0
    assert len(cli_json("search", "what am I allergic to?", "--path", db, "-u", "u", "--threshold", "0.05")) == 1
    assert cli_json("search", "quantum chromodynamics lecture", "--path", db, "-u", "u", "--threshold", "0.05") == []
    assert cli("search", "x", "--path", db, "-u", "u", "--threshold", "3")[0] != 0
