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
    assert cli("add", "seed", "--path", db)[0] == 0  # reads need an existing store (see test_cli_inputs.py)
    code, output = cli(*args, "--path", db)
    assert code != 0
    assert message in output


def test_foreign_store_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite" * 200)
    code, output = cli("stats", "--path", str(bad))
    assert code == 1 and "not a usable remem store" in output


def test_remem_path_env(tmp_path: Path) -> None:
    env = {**os.environ, "REMEM_PATH": str(tmp_path / "env.db"), "PYTHONPATH": str(ROOT)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "remem", *args], capture_output=True, text=True, env=env, timeout=300)  # noqa: E731
    assert run("add", "I am allergic to peanuts", "-u", "u").returncode == 0
    assert (tmp_path / "env.db").exists()
    result = run("stats", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["memories"] == 1


def test_demo_uses_a_temporary_store_not_yours(tmp_path: Path) -> None:
    """The demo never writes to REMEM_PATH or the default store; --path keeps it, and a rerun says it added nothing."""
    env = {**os.environ, "REMEM_PATH": str(tmp_path / "mine.db"), "XDG_DATA_HOME": str(tmp_path / "xdg"),
           "PYTHONPATH": str(ROOT)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "remem", *args], capture_output=True, text=True, env=env, timeout=300)  # noqa: E731
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert "allergic to peanuts" in result.stdout and "temporary store" in result.stdout
    assert "added 17 turns" in result.stdout
    assert not (tmp_path / "mine.db").exists() and not (tmp_path / "xdg").exists()
    kept = str(tmp_path / "demo.db")
    assert "added 17 turns" in run("demo", "--path", kept).stdout
    again = run("demo", "--path", kept)
    assert "added 0 new turns" in again.stdout and "17 of 17 were already there" in again.stdout
    stats = subprocess.run([sys.executable, "-m", "remem", "stats", "--json", "--path", kept], capture_output=True,
                           text=True, env=env, timeout=300)
    assert json.loads(stats.stdout)["memories"] == 17  # the demo is idempotent


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


def test_large_add_and_import_show_progress_of_the_real_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`add --file` with 1,500 messages and `import` of them advance a progress bar batch by batch,
    as each batch is written (not after draining the input first)."""
    from remem.memory import Memory

    calls: list[tuple[str, int, str]] = []
    real_add, real_import = Memory.add, Memory.import_

    def spy(name: str, real):  # noqa: ANN001, ANN202
        def wrapper(self, items, **kwargs):  # noqa: ANN001, ANN202
            items = list(items)
            sys.stderr.flush()
            calls.append((name, len(items), sys.stderr.buffer.getvalue().decode()))  # the bar as this batch starts
            return real(self, items, **kwargs)
        return wrapper

    monkeypatch.setattr(Memory, "add", spy("add", real_add))
    monkeypatch.setattr(Memory, "import_", spy("import", real_import))
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i} about topic {i % 37}"}
                for i in range(1500)]
    f = tmp_path / "big.json"
    f.write_text(json.dumps(messages))
    db, copy, dump = str(tmp_path / "big.db"), str(tmp_path / "copy.db"), str(tmp_path / "big.jsonl")
    result = runner.invoke(app, ["add", "--file", str(f), "--path", db, "-u", "u", "--json"])
    assert result.exit_code == 0, result.stderr
    adds = [c for c in calls if c[0] == "add"]
    assert [n for _, n, _ in adds] == [128] * 11 + [92]
    assert "256/1500" in adds[2][2] and "384/1500" not in adds[2][2]  # the bar tracks batches as they are written
    assert "1500/1500" in result.stderr
    assert len(json.loads(result.stdout)) == 1500
    assert cli("export", dump, "--path", db)[0] == 0
    result = runner.invoke(app, ["import", dump, "--path", copy, "--batch-size", "500"])
    assert result.exit_code == 0, result.stderr
    imports = [c for c in calls if c[0] == "import"]
    assert [n for _, n, _ in imports] == [500, 500, 500]
    assert "500/1500" in imports[1][2] and "1000/1500" not in imports[1][2]
    assert "1500/1500" in result.stderr and "imported 1500, skipped 0" in result.stdout
    assert cli_json("count", "--path", copy, "-u", "u") == {"count": 1500}


def test_identical_turns_at_one_time_stay_distinct_across_batches(tmp_path: Path) -> None:
    db = str(tmp_path / "same.db")
    messages = [{"role": "user", "content": "ok"}] * 3 + [{"role": "user", "content": f"m{i}"} for i in range(5)]
    f = tmp_path / "same.json"
    f.write_text(json.dumps(messages))
    code, output = cli("add", "--file", str(f), "--path", db, "-u", "u", "-t", "2024-01-01", "--batch-size", "2")
    assert code == 0, output
    assert cli_json("count", "--path", db, "-u", "u") == {"count": 8}
    code, output = cli("add", "--file", str(f), "--path", db, "-u", "u", "-t", "2024-01-01", "--batch-size", "2")
    assert "added 0, 8 already present" in output


def test_serve_names_the_store_and_auth_and_warns_who_can_get_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    import remem.server.app as server_app
    from remem.cli.store import shown

    served: list[dict[str, object]] = []
    monkeypatch.setattr(server_app, "run_server", lambda location, **kw: served.append({"location": location, **kw}))
    db = tmp_path / "served.db"
    result = runner.invoke(app, ["serve", "--path", str(db), "--port", "8123"])
    assert result.exit_code == 0, result.stderr
    assert f"remem store: {db}" in result.stderr and "auth: API keys (none yet)" in result.stderr
    assert "WARNING:  no API keys in this store: every request will be refused (401)" in result.stderr
    assert f"remem keys create --tenant NAME --path {db}" in result.stderr
    assert served[0]["location"] == str(db) and served[0]["auth"] is True
    result = runner.invoke(app, ["serve", "--path", str(db), "--no-auth", "--port", "8123"])
    assert "auth: none (--no-auth)" in result.stderr
    assert "authentication is off: any user or program on this machine that can connect to 127.0.0.1:8123" in result.stderr
    assert runner.invoke(app, ["keys", "create", "--tenant", "acme", "--path", str(db)]).exit_code == 0
    result = runner.invoke(app, ["serve", "--path", str(db)])
    assert "auth: API keys (1 live, for tenant(s) acme)" in result.stderr and "WARNING" not in result.stderr
    assert shown("postgresql://remem:secret@db:5432/remem") == "postgresql://remem:***@db:5432/remem"
