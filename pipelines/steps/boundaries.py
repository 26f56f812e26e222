"""The configured GISCO NUTS boundaries: a URL downloaded once into data_dir/cache/nuts/, parsed once per process."""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from nlp.boundaries import NutsBoundaries
from pipelines.errors import ConfigError
from pipelines.settings import NlpSettings

logger = logging.getLogger(__name__)

TIMEOUT_S = 60.0


def load_boundaries(nlp: NlpSettings, data_dir: Path, timeout_s: float = TIMEOUT_S) -> NutsBoundaries | None:
    """The NUTS boundaries `[nlp] gisco_nuts` names, or None when it is not set."""
    if not nlp.gisco_nuts:
        return None
    cache_dir = data_dir / "cache" / "nuts"
    path = local_copy(nlp.gisco_nuts, cache_dir, timeout_s)
    try:
        return _parse(str(path), path.stat().st_mtime_ns)
    except ConfigError:
        if path.is_relative_to(cache_dir):
            path.unlink()  # a bad download is fetched again next time
        raise


def local_copy(url: str, cache_dir: Path, timeout_s: float = TIMEOUT_S) -> Path:
    """A local path for `url`: http(s) is fetched into `cache_dir` unless already there; paths are used as they are."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        path = Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(url)
        if not path.is_file():
            raise ConfigError(f"NUTS boundaries file {path} does not exist; fix [nlp] gisco_nuts")
        return path
    name = Path(parts.path).name or "nuts.geojson"
    target = cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{name}"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    logger.info("boundaries: downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
        partial.unlink(missing_ok=True)
        raise ConfigError(f"could not download NUTS boundaries from {url}: {exc}; check [nlp] gisco_nuts "
                          f"or put the file in {cache_dir} as {target.name}") from exc
    partial.rename(target)
    return target


@lru_cache(maxsize=2)
def _parse(path: str, mtime_ns: int) -> NutsBoundaries:
    try:
        boundaries = NutsBoundaries.from_geojson(Path(path))
    except ValueError as exc:
        raise ConfigError(f"{path} is not a GISCO NUTS GeoJSON: {exc}") from exc
    logger.info("boundaries: %d NUTS regions from %s", len(boundaries), path)
    return boundaries
