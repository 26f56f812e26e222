"""A library: text in, arrays and DataFrames out. Never reads settings or the store."""
