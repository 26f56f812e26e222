"""One spider per source; the file name, the spider's `name` and the source slug are the same."""
