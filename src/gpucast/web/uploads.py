"""What an uploaded file *is*, read from its bytes, never from the name the client gave it (issue 24).

A client's file name is a claim: ``traffic.csv`` may be a spreadsheet, an archive or an executable. The server
decides how to read an upload from its content — Parquet by its ``PAR1`` magic, JSON by its first character,
JSON lines when the first line is a whole object, TSV when the header has tabs and no commas, CSV otherwise —
and refuses, with a 422 naming what the bytes look like, anything that is not one of the accepted formats
(binary files by their signature, other binary content by NUL bytes or invalid UTF-8). The name is then only the
server's own (``history.csv``, ``metrics.json``): no client text reaches the file system.
"""

from __future__ import annotations

import json

from ..errors import InputError

# file signatures of formats people upload by mistake (or on purpose), with the name a person knows them by
SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (or an .xlsx/.docx file)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc)"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
)
TEXT_FORMATS = "CSV, TSV, JSON or JSON lines"


def sniff(content: bytes, what: str, *, parquet: bool = False) -> str:
    """The suffix the server reads ``content`` as (``.csv``, ``.tsv``, ``.json``, ``.jsonl``, or ``.parquet`` where
    ``parquet`` is accepted); InputError naming the file's real kind otherwise. ``what`` names the upload in the
    message ("the metrics file")."""
    accepted = TEXT_FORMATS + (" or Parquet" if parquet else "")
    if content.startswith(b"PAR1"):
        if parquet:
            return ".parquet"
        raise InputError(f"{what} is a Parquet file; this upload accepts {TEXT_FORMATS}")
    for signature, kind in SIGNATURES:
        if content.startswith(signature):
            raise InputError(f"{what} is {kind}, whatever its name; accepted: {accepted}")
    if b"\x00" in content:
        raise InputError(f"{what} is binary (it holds NUL bytes), not text; accepted: {accepted}")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{what} is not UTF-8 text (invalid byte at position {error.start}); accepted: "
                         f"{accepted}") from None  # fmt: skip
    start = text.lstrip()
    if start.startswith("["):
        return ".json"
    if start.startswith("{"):
        first = start.splitlines()[0]
        try:
            whole_first_line = isinstance(json.loads(first), dict)
        except (ValueError, RecursionError):  # RecursionError: nested past the decoder's depth (a hostile file)
            whole_first_line = False
        # one object per line is JSON lines, unless the whole text is one (pretty-printed) document
        return ".jsonl" if whole_first_line and len(start.splitlines()) > 1 else ".json"
    header = start.splitlines()[0] if start else ""
    return ".tsv" if "\t" in header and "," not in header else ".csv"
