import json

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import THIS_WEEK, write_config

runner = CliRunner()


def commands(group: typer.Typer, prefix=()):
    for info in group.registered_commands:
        yield (*prefix, info.name or info.callback.__name__)
    for sub in group.registered_groups:
        yield from commands(sub.typer_instance, (*prefix, sub.name))


@pytest.mark.parametrize("command", sorted(commands(app)), ids=" ".join)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_status_json_on_an_empty_store_has_the_contract_keys(tmp_path):
    config = write_config(tmp_path)
    result = runner.invoke(app, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["documents"] == 0 and info["documents_by_source"] == {}
    assert {"embeddings", "topics", "last_run"} <= set(info) and info["last_run"] is None


def test_sources_lists_known_spiders_and_configured_urls(tmp_path):
    config = write_config(tmp_path, sources={"cordis": {"enabled": True, "urls": ["https://m.test/he.zip"]}})
    names = runner.invoke(app, ["--config", str(config), "sources", "--names"])
    assert "cordis" in names.output.split()
    listing = runner.invoke(app, ["--config", str(config), "sources"])
    assert "https://m.test/he.zip" in listing.output and "enabled" in listing.output


def test_bad_config_is_one_line_and_exit_1(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = = 1")
    result = runner.invoke(app, ["--config", str(bad), "status"])
    assert result.exit_code == 1 and "not valid TOML" in result.output


def test_digest_without_scores_says_what_to_do(tmp_path):
    config = write_config(tmp_path)
    result = runner.invoke(app, ["--config", str(config), "digest", "--week", THIS_WEEK])
    assert result.exit_code == 1 and "trendscout nightly" in result.output


@pytest.fixture
def held_store(tmp_path):
    """A config whose store another process (not a trendscout run) keeps open."""
    import subprocess
    import sys

    from pipelines.store import Store

    config = write_config(tmp_path)
    store_path = tmp_path / "data" / "trendscout.duckdb"
    Store.open(store_path).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(60)", str(store_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ok"
    yield config
    holder.kill()
    holder.wait()


@pytest.mark.parametrize("command", [["status"], ["ingest"], ["embed"], ["trends"], ["topics", "list"], ["digest"],
                                     ["detect"]], ids=" ".join)
def test_a_command_meeting_a_held_store_answers_75_in_one_line(held_store, command):
    result = runner.invoke(app, ["--config", str(held_store), *command])
    assert result.exit_code == 75, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: another process holds the store") and "process " in line


def test_help_renders_square_brackets():
    result = runner.invoke(app, ["serve", "--help"])
    assert "(default: [dashboard] host, 127.0.0.1)" in " ".join(result.output.split())


def test_ingest_of_a_corpus_file_requires_a_source(tmp_path):
    config = write_config(tmp_path)
    corpus = tmp_path / "mine.csv"
    corpus.write_text("id,title,text,date\n1,a,b,2026-01-01\n")
    result = runner.invoke(app, ["--config", str(config), "ingest", str(corpus)])
    assert result.exit_code == 1 and "needs --source NAME" in result.output
    loaded = runner.invoke(app, ["--config", str(config), "ingest", str(corpus), "--source", "mine"])
    assert loaded.exit_code == 0, loaded.output


def test_migration_lines_only_with_verbose(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    quiet = runner.invoke(app, ["--config", str(write_config(tmp_path / "a")), "status"])
    assert quiet.exit_code == 0 and "applied migration" not in quiet.output
    verbose = runner.invoke(app, ["--config", str(write_config(tmp_path / "b")), "--verbose", "status"])
    assert verbose.exit_code == 0 and "store: applied migration 1" in verbose.output
