import json

from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.runs import StepResult
from pipelines.settings import load_settings
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import write_config

ORGS = [{"name": "UNIVERSITAET STUTTGART", "short_name": "USTUTT", "country": "DE", "city": "Stuttgart",
         "nuts_code": "DE111", "lat": 48.78, "lon": 9.18, "role": "coordinator"},
        {"name": "TECHNISCHE UNIVERSITEIT EINDHOVEN", "short_name": "TU/e", "country": "NL", "city": "Eindhoven",
         "nuts_code": "NL414", "lat": 51.45, "lon": 5.49, "role": "coordinator"}]


def test_tag_lines_prints_one_json_object_per_line(tmp_path):
    config = write_config(tmp_path, nlp={"embedder": "hashing"})
    with Store.open(load_settings(config).store_path) as store:
        upsert_documents(store, [{"source": "cordis", "kind": "project", "external_id": str(i), "title": "t",
                                  "text": "fuel cells", "published_on": "2024-01-01", "organisations": [org]}
                                 for i, org in enumerate(ORGS)], StepResult("ingest"))
    texts = ("Universitaet Stuttgart tests fuel cell trucks\n\n"
             "Technische Universiteit Eindhoven spins off a chip startup\n")
    result = CliRunner().invoke(app, ["--config", str(config), "tag", "--lines"], input=texts)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3 and all(set(r) == {"lang", "regions", "sectors"} for r in rows)
    assert rows[0]["regions"][0]["code"] == "DE111" and rows[0]["regions"][0]["level"] == 3
    assert set(rows[0]["regions"][0]) == {"code", "name", "level", "evidence", "weight"}
    assert rows[1] == {"lang": None, "regions": [], "sectors": []}  # an empty line: a defined empty result
    assert rows[2]["regions"][0]["code"] == "NL414"
    progress = [line.split("] ", 1)[1] for line in result.stderr.splitlines() if line.startswith("[")]
    assert progress == ["loading the place registry ...", "loading the embedder hashing ...", "tagging 3 texts ..."]
