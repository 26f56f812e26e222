"""Ingest step: raw feed files (or an analyst's corpus file) -> `documents`, upserted on doc_id.

A document whose content hash is unchanged is left alone; a changed one is updated in place and
loses its embedding link and topic assignment, so the later steps redo just that document.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from crawlers.items import KINDS, date_problem, plausible_updated
from pipelines.errors import TrendscoutError
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.store import Store

logger = logging.getLogger(__name__)

BATCH = 2000
ORG_FIELDS = ("name", "role", "org_id", "short_name", "country", "city", "nuts_code", "lat", "lon")
PLACEHOLDERS = frozenset({"nan", "none", "null", "n/a"})  # texts that stand for a missing value
# rows that must be redone when a document changes
DERIVED_TABLES = ("doc_embeddings", "topic_assignments", "topic_similarities", "doc_features", "doc_regions",
                  "doc_sectors", "doc_noun_phrases", "doc_terms",
                  "doc_lengths")


def doc_id(source: str, external_id: str) -> str:
    return f"{source}:{external_id}"


def content_hash(record: dict[str, Any]) -> str:
    keys = ("url", "title", "text", "published_on", "kind", "codes", "organisations", "places", "language")
    payload = json.dumps({k: record.get(k) for k in keys}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()


def _parse_date(value: Any) -> date | None:
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).strip()[:10]).date()
    except ValueError:
        return None


def _is_placeholder(value: Any) -> bool:
    """A missing value written out as text by an exporter: "nan" (pandas), "None", "null", "N/A"."""
    return isinstance(value, str) and value.strip().lower() in PLACEHOLDERS


def _as_text(value: Any) -> str | None:
    """A title or text as a string (a number such as the title 1984 is text too; a placeholder such as "nan" is
    empty); None for lists or objects."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or _is_placeholder(value):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert_documents(store: Store, records: list[dict[str, Any]], result: StepResult,
                     raw_file: str | None = None) -> None:
    """Validate and upsert one batch of item dicts in one transaction; count new/updated/unchanged."""
    now = datetime.now(UTC).replace(tzinfo=None)  # TIMESTAMP columns hold naive UTC
    rows: dict[str, dict[str, Any]] = {}
    nuts_names: dict[str, str] = {}
    for record in records:
        source, external_id = record.get("source"), str(record.get("external_id") or "").strip()
        title, text = _as_text(record.get("title")), _as_text(record.get("text"))
        result.count(placeholder_text=sum(_is_placeholder(record.get(k)) for k in ("title", "text")))
        published = _parse_date(record.get("published_on"))
        reason = ("no_id" if not (source and external_id) else "bad_kind" if record.get("kind") not in KINDS
                  else "bad_text" if title is None or text is None else "no_text" if not (title or text)
                  else "no_date" if published is None else date_problem(published, record["kind"]))
        if reason:
            result.skip(reason)
            continue
        updated = plausible_updated(_parse_date(record.get("updated_on")))  # the source's watermark
        key = doc_id(source, external_id)
        meta = dict(record.get("meta") or {})
        nuts_names.update(meta.pop("nuts_names", None) or {})
        rows[key] = {
            "doc_id": key, "source": source, "kind": record["kind"], "external_id": external_id,
            "url": record.get("url") if isinstance(record.get("url"), str) else None, "title": title, "text": text,
            "published_on": published, "updated_on": updated,
            "language": record.get("language") if isinstance(record.get("language"), str) else None,
            "content_hash": content_hash(record), "codes": json.dumps(record.get("codes") or {}),
            "meta": json.dumps(meta, default=str), "places": json.dumps(record.get("places") or []),
            "raw_file": raw_file, "first_seen_at": now, "ingested_at": now,
            "_orgs": record.get("organisations") or [],
        }
    if not rows:
        return
    frame = pd.DataFrame(rows.values())
    with store.registered("_batch", frame[["doc_id", "content_hash"]]):
        existing = store.df("SELECT d.doc_id, d.content_hash, d.first_seen_at FROM documents d "
                            "JOIN _batch b USING (doc_id)").set_index("doc_id")
    same = frame["doc_id"].map(existing["content_hash"]) == frame["content_hash"]
    is_new = ~frame["doc_id"].isin(existing.index)
    changed = frame[~same & ~is_new]
    write = frame[~same].copy()
    if not changed.empty:
        write.loc[write["doc_id"].isin(changed["doc_id"]), "first_seen_at"] = \
            write["doc_id"].map(existing["first_seen_at"])
    orgs = pd.DataFrame([{"doc_id": row["doc_id"], "position": i, **{f: org.get(f) for f in ORG_FIELDS}}
                         for _, row in write.iterrows() for i, org in enumerate(row["_orgs"])],
                        columns=["doc_id", "position", *ORG_FIELDS])
    with store.transaction():
        ids = changed["doc_id"].tolist()
        for table in ("documents", "document_organisations", *DERIVED_TABLES):
            store.delete_keys(table, "doc_id", ids)
        store.insert_frame("documents", write.drop(columns="_orgs"))
        store.insert_frame("document_organisations", orgs)
        if nuts_names:
            names = pd.DataFrame({"code": list(nuts_names), "name": list(nuts_names.values())})
            names["level"] = names["code"].str.len().clip(upper=5) - 2
            with store.registered("_nuts", names):
                store.con.execute("INSERT OR REPLACE INTO nuts_regions SELECT code, name, level FROM _nuts")
    result.count(new=int(is_new.sum()), updated=len(changed), unchanged=int(same.sum()))


def pending_raw_files(store: Store, raw_dir: Path) -> list[Path]:
    """Finished raw feed files (not `.part`) that have not been ingested yet, oldest first."""
    done = set(store.df("SELECT path FROM raw_files")["path"])
    return sorted((p for p in raw_dir.glob("*/*.jsonl") if str(p) not in done), key=lambda p: p.name)


def _read_jsonl(path: Path, result: StepResult) -> Iterator[dict]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                result.skip("bad_json_line")


def ingest(store: Store, raw_dir: Path, bars: Bars) -> StepResult:
    """Ingest every pending raw feed file; each file is marked done once all its batches are in."""
    result = StepResult("ingest")
    for path in bars.track(pending_raw_files(store, raw_dir), description="ingest"):
        before = result.counts.copy(), sum(result.skipped.values())
        for batch in _batches(_read_jsonl(path, result), BATCH):
            upsert_documents(store, batch, result, raw_file=str(path))
        delta = {k: result.counts[k] - before[0][k] for k in ("new", "updated", "unchanged")}
        with store.transaction() as con:
            con.execute("INSERT OR REPLACE INTO raw_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                str(path), path.parent.name, path.stem, sum(delta.values()), delta["new"],
                delta["updated"], delta["unchanged"], sum(result.skipped.values()) - before[1],
                datetime.now(UTC)])
        result.count(files=1)
    return result


CORPUS_COLUMNS = {"id", "title", "text", "date"}


def read_corpus(path: Path) -> pd.DataFrame:
    """Read a JSONL/CSV/Parquet corpus (a file or a directory of them) with id, title, text, date."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    frames = []
    for file in files:
        try:
            frame = _read_file(file)
        except UnicodeDecodeError as exc:
            raise TrendscoutError(f"{file} is not UTF-8 text (it holds the byte 0x{exc.object[exc.start]:02x}); "
                                  "convert it first, e.g. iconv -f latin1 -t utf-8") from None
        except (ValueError, OSError, pd.errors.ParserError, pa.ArrowException) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TrendscoutError(f"{file} cannot be read: {reason}") from None
        if frame is not None:
            frames.append(frame)
    if not frames:
        raise TrendscoutError(f"no JSONL, CSV or Parquet files at {path}")
    frame = pd.concat(frames, ignore_index=True)
    missing = CORPUS_COLUMNS - set(frame.columns)
    if missing:
        raise TrendscoutError(f"{path} lacks the column(s) {', '.join(sorted(missing))}; "
                              "a corpus needs id, title, text and date")
    return frame


def _read_file(file: Path) -> pd.DataFrame | None:
    """One corpus file as a frame; None for a file that is not JSONL, CSV or Parquet."""
    suffix = "".join(file.suffixes[-2:]).lower()
    if suffix.endswith(".parquet"):
        return pd.read_parquet(file)
    if suffix.endswith((".csv", ".csv.gz")):
        return pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
    if suffix.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
        return pd.read_json(file, lines=not suffix.endswith(".json") or _is_jsonl(file), dtype=False,
                            encoding="utf-8")
    return None


def _is_jsonl(file: Path) -> bool:
    with file.open(encoding="utf-8") as handle:
        return handle.read(1) != "["


def _split(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return [str(v) for v in list(value)]
    return [v.strip() for v in str(value).replace("|", ";").split(";") if v.strip()]


def corpus_records(frame: pd.DataFrame, source: str, kind: str) -> Iterator[dict[str, Any]]:
    """Turn corpus rows into item dicts; optional columns url, regions (NUTS codes), sectors, group (a call /
    topic code or venue: what a burst concentrates in) and organisations (names, ';'-separated)."""
    if kind not in KINDS:
        raise TrendscoutError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    frame = frame.astype(object).where(frame.notna(), None)
    for row in frame.to_dict("records"):
        regions = _split(row.get("regions"))
        sectors = _split(row.get("sectors"))
        group = str(row.get("group") or "").strip()
        codes = ({"sector": sectors} if sectors else {}) | ({"group": group} if group else {})
        yield {
            "source": source, "kind": kind, "external_id": str(row.get("id") or "").strip(),
            "url": row.get("url") or None, "title": row.get("title") or "", "text": row.get("text") or "",
            "published_on": row.get("date"), "updated_on": row.get("updated") or row.get("date"),
            "organisations": [{"name": "", "nuts_code": code, "role": "given"} for code in regions]
            + [{"name": name, "role": "given"} for name in _split(row.get("organisations"))],
            "codes": codes, "meta": {}, "places": [],
        }


def ingest_corpus(store: Store, path: Path, source: str, kind: str, bars: Bars) -> StepResult:
    """Load an analyst's corpus file into the store under `source` (idempotent)."""
    result = StepResult("ingest")
    frame = read_corpus(path)
    batches = _batches(corpus_records(frame, source, kind), BATCH)
    for batch in bars.track(batches, total=-(-len(frame) // BATCH), description=f"ingest {path.name}"):
        upsert_documents(store, batch, result, raw_file=str(path))
    return result
