"""Report files: rows → CSV or XLSX, streamed, optionally inside a ZIP.

Input: an iterable of row dicts and the chosen columns. Output: a ZIP on disk
(``write_zip``: the report export) or the bytes of a plain file (``write_table``:
small tables such as referrers). Memory stays flat in the number of rows: rows
are pulled one at a time and written straight into the compressed stream.
Text cells that a spreadsheet would read as a formula are neutralised here; the ZIP is
its owner's alone (0600). It does not compute or reorder rows, and does not know about
jobs or e-mail.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

import xlsxwriter
from xlsxwriter.utility import (
    _preserve_whitespace,
    _utf16_len,
    _utf16_truncate,
    xl_col_to_name,
)
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

ProgressFn = Callable[[int], None]
Cell = str | int | float | None

#: A text cell starting with one of these is a formula (or DDE) to a spreadsheet, also after
#: leading whitespace and once full-width forms are folded (NFKC: ``＝`` is ``=``).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
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
#: Text that xlsxwriter's control-character escape (``_xHHHH_``) would change.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_MARKUP = re.compile("[&<>]")
_TEXT_MAX = 32_767  # UTF-16 units in one cell


class RowSheet(Worksheet):
    """An xlsxwriter worksheet that takes a whole data row at once (``constant_memory`` only).

    ``write_cells`` writes the same XML that ``write_string`` / ``write_number`` would
    (the same escapes, whitespace rule and number format, checked byte for byte by
    ``tests/export/test_files.py``), but per row instead of per cell: xlsxwriter's
    per-cell bookkeeping was three quarters of an XLSX export's time. Everything else
    (header, formats, column widths, panes, the workbook's parts) is xlsxwriter's own.
    """

    _letters = [xl_col_to_name(i) for i in range(256)]
    previous_row: int  # xlsxwriter's own bookkeeping (the last row written)

    def write_cells(self, row: int, cells: Sequence[Cell]) -> None:
        if not self.constant_memory:
            raise RuntimeError("RowSheet.write_cells needs constant_memory")
        if row < self.previous_row or (row == self.previous_row and row > 0):
            raise ValueError("rows must be written in increasing order")
        if row > self.previous_row:
            self._write_single_row(row)  # flushes a row written cell by cell (the header)
        if self._check_dimensions(row, 0) or self._check_dimensions(row, max(len(cells) - 1, 0)):
            raise ValueError(f"row {row} does not fit a sheet")
        r, letters = row + 1, self._letters
        parts = [f'<row r="{r}">']
        for c, value in enumerate(cells):
            if value is None:
                continue
            if value.__class__ is str:
                text = str(value)
                if len(text) > _TEXT_MAX // 2 and _utf16_len(text) > _TEXT_MAX:
                    text = _utf16_truncate(text, _TEXT_MAX)
                if _CONTROL.search(text):
                    text = self._escape_control_characters(text)
                if _MARKUP.search(text):
                    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                keep = text and (text[0].isspace() or text[-1].isspace()) and _preserve_whitespace(text)
                space = ' xml:space="preserve"' if keep else ""
                parts.append(f'<c r="{letters[c]}{r}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
            elif isinstance(value, (int, float)) and math.isfinite(value):
                parts.append(f'<c r="{letters[c]}{r}"><v>{value:.16G}</v></c>')
        parts.append("</row>")
        self.fh.write("".join(parts))
        self.previous_row = row


class TooManyRows(ValueError):
    """The rows do not fit the chosen format."""


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula (OWASP's CSV
    injection advice): its first character, past leading whitespace and folded by NFKC, is one
    of ``FORMULA_STARTS``. Only text comes here: a number (negative too) stays a number."""
    if not text:
        return text
    first = text[0]
    if first in FORMULA_STARTS:
        return "'" + text
    if first < "\x80" and not first.isspace():  # the hot path: an ASCII letter, digit, ...
        return text
    for ch in text:  # whitespace, or a character NFKC may fold into a formula start
        folded = unicodedata.normalize("NFKC", ch) if ch >= "\x80" else ch
        if folded[:1] in FORMULA_STARTS:
            return "'" + text
        if folded and not folded.isspace():
            return text
    return text


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
        os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as raw,
        zipfile.ZipFile(raw, "w", compression=compression, allowZip64=True) as archive,
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
    for n, row in enumerate(cells, 1):  # noqa: B007 - n counts the rows written
        writer.writerow(row)
    text.flush()
    text.detach()
    return n


def _write_xlsx(out: IO[bytes], columns: Sequence[str], cells: Iterator[list[Cell]], tmp: Path | None) -> int:
    """One sheet, row by row (``constant_memory``); text is always a string cell, never a formula or URL."""
    with tempfile.TemporaryDirectory(dir=tmp, prefix="xlsx-") as scratch:
        book = xlsxwriter.Workbook(out, {**_XLSX_OPTIONS, "tmpdir": scratch})
        sheet = book.add_worksheet("report", worksheet_class=RowSheet)
        try:
            n = _xlsx_rows(book, sheet, columns, cells)
        except BaseException:
            _abandon(sheet)
            raise
        book.close()
    return n


def _xlsx_rows(book: Workbook, sheet: RowSheet, columns: Sequence[str], cells: Iterator[list[Cell]]) -> int:
    bold = book.add_format({"bold": True})
    for col, name in enumerate(columns):
        sheet.set_column(col, col, _WIDE.get(name, 14))
        sheet.write_string(0, col, name, bold)
    sheet.freeze_panes(1, 0)
    write_cells = sheet.write_cells
    n = 0
    for n, row in enumerate(cells, 1):
        if n > XLSX_MAX_ROWS:
            raise TooManyRows(f"an XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows; choose CSV for this report")
        write_cells(n, row)
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
