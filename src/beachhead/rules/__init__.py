"""The rules model: PURE. No database, web or file I/O below this package (load.py reads text)."""
