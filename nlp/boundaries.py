"""NUTS region boundaries (GISCO's GeoJSON): the deepest NUTS region containing a coordinate.

GISCO publishes one file per level (`NUTS_RG_01M_2021_4326_LEVL_3.geojson`) or all levels in one; either
works, as each feature carries NUTS_ID, LEVL_CODE, CNTR_CODE and NAME_LATN. Coordinates are WGS 84
(EPSG:4326, GeoJSON order lon, lat). Parents of the deepest code are its prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from nlp.gazetteer import nuts_country


class NutsBoundaries:
    """Point-in-polygon lookup of NUTS regions over an STRtree."""

    def __init__(self, codes: list[str], levels: list[int], names: list[str | None], geometries: list):
        if not len(codes) == len(levels) == len(names) == len(geometries):
            raise ValueError("codes, levels, names and geometries must have one entry per region")
        self.codes = codes
        self.levels = np.asarray(levels, dtype=int)
        self.names = dict(zip(codes, names, strict=True))
        self.geometries = np.asarray(geometries, dtype=object)
        self._tree = shapely.STRtree(self.geometries)

    @classmethod
    def from_geojson(cls, source: str | Path | bytes | Mapping) -> NutsBoundaries:
        """Read a GeoJSON FeatureCollection (a path, its bytes, or the parsed mapping)."""
        if isinstance(source, Mapping):
            data = source
        else:
            data = json.loads(source if isinstance(source, bytes | bytearray) else Path(source).read_bytes())
        features = data.get("features") if isinstance(data, Mapping) else None
        if not features:
            raise ValueError("not a GeoJSON FeatureCollection with features")
        codes, levels, names, geometries = [], [], [], []
        for feature in features:
            props = feature.get("properties") or {}
            code = str(props.get("NUTS_ID") or "").strip().upper()
            if not code or not feature.get("geometry"):
                raise ValueError(f"feature without NUTS_ID or geometry: {props!r}")
            codes.append(code)
            levels.append(int(props.get("LEVL_CODE", len(code) - 2)))
            names.append(props.get("NAME_LATN"))
            geometries.append(shape(feature["geometry"]))
        return cls(codes, levels, names, geometries)

    def __len__(self) -> int:
        return len(self.codes)

    def __getstate__(self) -> dict:  # the tree is rebuilt on unpickling (Dask workers get a copy)
        return {k: v for k, v in self.__dict__.items() if k != "_tree"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._tree = shapely.STRtree(self.geometries)

    def region_name(self, code: str) -> str | None:
        """The region's Latin-script name."""
        return self.names.get(code)

    def locate(self, lat: float, lon: float, country: str | None = None) -> dict | None:
        """The deepest region containing the point: code, name, level, parents (nearest first); None outside all.

        Args:
            country: the organisation's country; regions elsewhere are ignored (generalised borders can put
                a point near a frontier in the neighbour, and swapped lat/lon land anywhere).
        """
        if not (np.isfinite(lat) and np.isfinite(lon)):
            return None
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if not len(hits):
            return None
        wanted = nuts_country(country) if country else None
        hits = [i for i in hits if self.codes[i][:2] == wanted] if wanted else list(hits)
        if not hits:
            return None
        best = max(hits, key=lambda i: (self.levels[i], self.codes[i]))
        code = self.codes[best]
        return {"code": code, "name": self.names[code], "level": int(self.levels[best]),
                "parents": [code[:n] for n in range(len(code) - 1, 1, -1)]}
