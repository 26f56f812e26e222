"""Operations: schedule, store lock, backups, retention, the Parquet dataset and the Dask backfill."""
