"""Report files: rows → CSV or XLSX, streamed, optionally inside a ZIP.

Input: an iterable of row dicts and the chosen columns. Output: a ZIP on disk
(``write_zip``: the report export) or the bytes of a plain file (``write_table``:
small tables such as referrers). Memory stays flat in the number of rows: rows
are pulled one at a time and written straight into the compressed stream.
Text cells that a spreadsheet would read as a formula are neutralised here. It
does not compute or reorder rows, and does not know about jobs or e-mail.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

ProgressFn = Callable[[int], None]
Cell = str | int | float | None

#: A text cell starting with one of these is a formula (or DDE) to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Data rows an XLSX sheet can hold (1,048,576 minus the header).
XLSX_MAX_ROWS = 1_048_575
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
_BOM = "\ufeff"
_XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_urls": False,  # the default drops URL cells after the 65,530th
    "strings_to_formulas": False,
    "strings_to_numbers": False,
}
_WIDE = {"title": 48, "project_name": 24, "folder_name": 32, "domain": 28, "url": 60}


class TooManyRows(ValueError):
    """The rows do not fit the chosen format."""


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_zip(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[str],
    fmt: str,
    dest: Path,
    *,
    member: str,
    on_progress: ProgressFn | None = None,
    every: int = 1000,
) -> int:
    """Write the rows as ``member`` (CSV deflated, XLSX stored) in a new ZIP at ``dest``; the row count."""
    compression = zipfile.ZIP_DEFLATED if fmt == "csv" else zipfile.ZIP_STORED
    cells = _cells(rows, columns, on_progress, every)
    with (
        zipfile.ZipFile(dest, "w", compression=compression, allowZip64=True) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        return _WRITERS[fmt](out, columns, cells, dest.parent)


def write_table(rows: Iterable[Mapping[str, object]], columns: Sequence[str], fmt: str) -> bytes:
    """A small table as the bytes of one CSV or XLSX file (not zipped)."""
    out = io.BytesIO()
    _WRITERS[fmt](out, columns, _cells(rows, columns, None, 0), None)
    return out.getvalue()


def _cells(
    rows: Iterable[Mapping[str, object]], columns: Sequence[str], on_progress: ProgressFn | None, every: int
) -> Iterator[list[Cell]]:
    """Each row as its cells in column order, text neutralised; reports progress every ``every`` rows."""
    n = 0
    for n, row in enumerate(rows, 1):
        yield [_cell(row[c]) for c in columns]
        if on_progress is not None and n % every == 0:
            on_progress(n)
    if on_progress is not None and (n == 0 or n % every):
        on_progress(n)


def _cell(value: object) -> Cell:
    if isinstance(value, str):  # text first: the hot path, 1.5 million calls for 100k rows
        return neutralise(value)
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):  # a database sum
        return int(value) if value == value.to_integral_value() else float(value)
    return neutralise(str(value))


def _write_csv(out: IO[bytes], columns: Sequence[str], cells: Iterator[list[Cell]], _tmp: Path | None) -> int:
    """UTF-8 with a BOM (Excel then reads Cyrillic right); None is an empty cell."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    text.write(_BOM)
    writer = csv.writer(text)
    writer.writerow(columns)
    n = 0
    for n, row in enumerate(cells, 1):
        writer.writerow(row)
    text.flush()
    text.detach()
    return n


def _write_xlsx(out: IO[bytes], columns: Sequence[str], cells: Iterator[list[Cell]], tmp: Path | None) -> int:
    """One sheet, row by row (``constant_memory``); text is always a string cell, never a formula or URL."""
    with tempfile.TemporaryDirectory(dir=tmp, prefix="xlsx-") as scratch:
        book = xlsxwriter.Workbook(out, {**_XLSX_OPTIONS, "tmpdir": scratch})
        sheet = book.add_worksheet("report")
        try:
            n = _xlsx_rows(book, sheet, columns, cells)
        except BaseException:
            _abandon(sheet)
            raise
        book.close()
    return n


def _xlsx_rows(book: Workbook, sheet: Worksheet, columns: Sequence[str], cells: Iterator[list[Cell]]) -> int:
    bold = book.add_format({"bold": True})
    for col, name in enumerate(columns):
        sheet.set_column(col, col, _WIDE.get(name, 14))
        sheet.write_string(0, col, name, bold)
    sheet.freeze_panes(1, 0)
    write_string, write_number = sheet.write_string, sheet.write_number
    n = 0
    for n, row in enumerate(cells, 1):
        if n > XLSX_MAX_ROWS:
            raise TooManyRows(f"an XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows; choose CSV for this report")
        for c, value in enumerate(row):
            if value.__class__ is str:
                write_string(n, c, value)
            elif value is not None:
                write_number(n, c, value)
    return n


def _abandon(sheet: Worksheet) -> None:
    """Close the row scratch file of an unfinished sheet (xlsxwriter only closes it in ``close()``)."""
    scratch = getattr(sheet, "row_data_fh", None)
    if scratch is not None:
        scratch.close()


_WRITERS: dict[str, Callable[[IO[bytes], Sequence[str], Iterator[list[Cell]], Path | None], int]] = {
    "csv": _write_csv,
    "xlsx": _write_xlsx,
}
