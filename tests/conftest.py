"""Shared fixtures: the shared corpora (skipped when absent), configs, a CLI runner in a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
CORDIS_TARBALL = SHARED_DATA / "cordis-horizon-europe" / "original" / "horizon-projects-xml.tar.xz"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# the ISO week the tests' detections are made in (stamped now): a digest for an earlier week is refused
THIS_WEEK = "{}-W{:02d}".format(*datetime.now(UTC).date().isocalendar()[:2])


def needs_shared(path: Path = SHARED_DATA):
    """Skip a test cleanly when the shared corpora are not beside the checkout."""
    return pytest.mark.skipif(not path.exists(), reason=f"shared data not found at {path}")


def cordis_xml_records(n: int, offset: int = 0) -> list[tuple[str, bytes]]:
    """The first `n` real CORDIS project XML files (after `offset`) from the shared tarball."""
    out: list[tuple[str, bytes]] = []
    with tarfile.open(CORDIS_TARBALL) as archive:
        for i, member in enumerate(m for m in archive if m.isfile() and m.name.endswith(".xml")):
            if i < offset:
                continue
            out.append((member.name.rsplit("/", 1)[-1], archive.extractfile(member).read()))
            if len(out) == n:
                break
    return out


def make_zip(records: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in records:
            archive.writestr(name, data)
    return buffer.getvalue()


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(tmp_path: Path, **tables) -> Path:
    """Write a settings file with data/models/reports under tmp_path; tables are dicts of dicts."""
    lines = [f'data_dir = "{tmp_path / "data"}"', f'models_dir = "{tmp_path / "models"}"',
             f'reports_dir = "{tmp_path / "reports"}"']
    for table, values in tables.items():
        if table == "sources":
            for name, source in values.items():
                lines.append(f"[sources.{name}]")
                lines += [f"{k} = {toml_value(v)}" for k, v in source.items()]
        else:
            lines.append(f"[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    path = tmp_path / "trendscout.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text())  # fail here, not in the CLI, if the helper wrote bad TOML
    return path


def run_cli(*args, env: dict | None = None, timeout: int = 900, check: bool = True):
    """Run `trendscout ARGS` in a fresh process (Scrapy's reactor starts once per process)."""
    full_env = {**os.environ, "TRENDSCOUT_CONFIG": "", **(env or {})}
    full_env.pop("TRENDSCOUT_CONFIG")
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "--quiet", *map(str, args)], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"trendscout {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture
def shared_cordis():
    if not CORDIS_TARBALL.exists():
        pytest.skip(f"shared CORDIS corpus not found at {CORDIS_TARBALL}")
    return CORDIS_TARBALL


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver on IPv4 loopback only."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def phrases():
    """The pinned spaCy pipeline's phrase extractor (`nlp.phrases`), loaded once per test session."""
    from nlp.phrases import PhraseExtractor, load
    from pipelines.settings import NlpSettings

    extractor = PhraseExtractor(**NlpSettings().phrase_options())
    load(extractor.model)
    return extractor
