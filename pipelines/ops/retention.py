"""Retention: delete what has served its purpose, record each deletion in `removed_files`.

- raw feed files `raw_days` after they were ingested (never before: until then they are the only copy);
- `.part` files of killed crawls older than `part_days`;
- topic model folders that are not current, not referenced by a topic or an assignment, not among the
  `keep_models` newest, and older than `model_days`; folders no `topic_models` row knows (a fit killed
  between saving and registering) after `part_days`;
- backups beyond the `keep_backups` newest.
Runs under the nightly lock, so no crawl or fit of this store is writing what it looks at.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.ops.backup import list_backups
from pipelines.runs import StepResult
from pipelines.settings import RetentionSettings, Settings, ops_settings
from pipelines.store import Store

logger = logging.getLogger(__name__)


def retention(store: Store, settings: Settings, now: datetime | None = None) -> StepResult:
    """Apply the retention settings; count removals by kind (removed_raw, removed_part, ...)."""
    ops = ops_settings(settings)
    cfg, now = ops.retention, (now or datetime.now(UTC)).replace(tzinfo=None)  # TIMESTAMP columns: naive UTC
    result = StepResult("retention")
    found = (_raw_files(store, cfg, now) + _part_files(settings.raw_dir, cfg, now)
             + _models(store, settings.models_dir / "topics", cfg, now) + _backups(ops.backup_dir, cfg))
    removed = []
    for path, kind, reason in found:
        size = _size(path)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append({"path": str(path), "kind": kind, "bytes": size, "reason": reason, "removed_at": now})
        logger.info("retention: removed %s %s (%s)", kind, path, reason)
    if removed:
        with store.registered("_removed", pd.DataFrame(removed)), store.transaction() as con:
            con.execute("INSERT OR REPLACE INTO removed_files SELECT path, kind, bytes, reason, removed_at "
                        "FROM _removed")
    result.count(**{f"removed_{k}": v for k, v in Counter(r["kind"] for r in removed).items()},
                 freed_mb=round(sum(r["bytes"] for r in removed) / 2**20))
    return result


def _size(path: Path) -> int:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file())


def _raw_files(store: Store, cfg: RetentionSettings, now: datetime) -> list[tuple[Path, str, str]]:
    if cfg.raw_days <= 0:
        return []
    rows = store.df("SELECT path FROM raw_files WHERE ingested_at < ? AND path NOT IN "
                    "(SELECT path FROM removed_files)", [now - timedelta(days=cfg.raw_days)])
    return [(Path(p), "raw", f"ingested over {cfg.raw_days} days ago") for p in rows["path"] if Path(p).is_file()]


def _part_files(raw_dir: Path, cfg: RetentionSettings, now: datetime) -> list[tuple[Path, str, str]]:
    cutoff = (now - timedelta(days=cfg.part_days)).replace(tzinfo=UTC).timestamp()
    return [(p, "part", "left by a killed crawl") for p in sorted(raw_dir.glob("*/*.part"))
            if p.stat().st_mtime < cutoff]


def _models(store: Store, topics_dir: Path, cfg: RetentionSettings, now: datetime) -> list[tuple[Path, str, str]]:
    if cfg.model_days <= 0:
        return []
    models = store.df("SELECT version, path, created_at, is_current FROM topic_models ORDER BY created_at DESC")
    used = set(store.df("SELECT DISTINCT model_version AS v FROM topics UNION "
                        "SELECT DISTINCT model_version FROM topic_assignments")["v"])
    spare = models[~models["is_current"] & ~models["version"].isin(used)].iloc[cfg.keep_models:]
    old = spare[spare["created_at"] < now - timedelta(days=cfg.model_days)]
    out = [(Path(p), "model", f"superseded, over {cfg.model_days} days old") for p in old["path"] if Path(p).is_dir()]
    known = {Path(p).name for p in models["path"]}
    cutoff = (now - timedelta(days=cfg.part_days)).replace(tzinfo=UTC).timestamp()
    out += [(p, "model", "never registered (fit killed)") for p in sorted(topics_dir.glob("*"))
            if p.is_dir() and p.name not in known and p.stat().st_mtime < cutoff]
    return out


def _backups(backup_dir: Path, cfg: RetentionSettings) -> list[tuple[Path, str, str]]:
    if cfg.keep_backups <= 0:
        return []
    old = list_backups(backup_dir)[:-cfg.keep_backups]
    return [(p, "backup", f"beyond the newest {cfg.keep_backups}") for p in old]
