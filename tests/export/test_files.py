"""Report files: CSV with a BOM, XLSX read back by openpyxl, the ZIP around them, injection."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from watchdepth.export import files
from watchdepth.export.files import neutralise, write_table, write_zip
from watchdepth.export.source import EXPORT_FIELDS

from .helpers import as_text, read_report, read_table, synthetic_row

ROWS: list[dict[str, object]] = [
    {"title": "Привет, мир", "views": 3, "duration": 12.5, "note": None},
    {"title": '=HYPERLINK("http://evil.example","x")', "views": 0, "duration": 0.0, "note": "-5"},
    {"title": "+1", "views": -1, "duration": None, "note": "@SUM(A1)"},
    {"title": "\tcmd", "views": 1, "duration": 1.0, "note": "\rx"},
    {"title": "a-b=c", "views": 2, "duration": 3.0, "note": "https://example.com/?a=1"},
]
COLUMNS = ["title", "views", "duration", "note"]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-5", "'-5"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
        ("Привет", "Привет"),
        ("'=x", "'=x"),
        # issue 13 row 9: past leading whitespace, and full-width forms folded (NFKC)
        (" =1+1", "' =1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("＝1+1", "'＝1+1"),
        ("\u3000＋1", "'\u3000＋1"),
        ("  \t@SUM(A1)", "'  \t@SUM(A1)"),
        ("＠x", "'＠x"),
        ("－1", "'－1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("   ", "   "),
        (" Привет = мир", " Привет = мир"),
        ("Ｆｏｏ=1", "Ｆｏｏ=1"),
        ("Quarterly report - 2026", "Quarterly report - 2026"),
    ],
)
def test_neutralise(text: str, safe: str) -> None:
    assert neutralise(text) == safe


INJECTED = [
    {"title": " =1+1", "views": -5, "duration": -0.5},
    {"title": "\n=1+1", "views": 1, "duration": 1.0},
    {"title": "＝1+1", "views": 2, "duration": 2.0},
    {"title": "@SUM(A1)", "views": 3, "duration": 3.0},
    {"title": "Quarterly report - 2026", "views": 4, "duration": 4.0},
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_behind_whitespace_or_full_width_are_neutralised_and_numbers_stay_numbers(
    tmp_path: Path, fmt: str
) -> None:
    dest = tmp_path / "r.zip"
    write_zip(INJECTED, ["title", "views", "duration"], fmt, dest, member=f"r.{fmt}")
    _, _, rows = read_report(dest.read_bytes())
    neg = ["-5", "-0.5"] if fmt == "csv" else [-5, -0.5]  # a negative number is a number, not text
    assert rows[0] == ["' =1+1", *neg]
    assert [r[0] for r in rows[1:]] == ["'\n=1+1", "'＝1+1", "'@SUM(A1)", "Quarterly report - 2026"]


def test_a_report_zip_is_its_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        write_zip(ROWS, COLUMNS, "csv", tmp_path / "r.zip", member="r.csv")
    finally:
        os.umask(old)
    assert oct((tmp_path / "r.zip").stat().st_mode & 0o777) == "0o600"


def test_csv_in_a_deflated_zip_with_bom_cyrillic_and_neutralised_cells(tmp_path: Path) -> None:
    dest = tmp_path / "r.zip"
    assert write_zip(ROWS, COLUMNS, "csv", dest, member="r.csv") == len(ROWS)
    with zipfile.ZipFile(dest) as z:
        assert [(i.filename, i.compress_type) for i in z.infolist()] == [("r.csv", zipfile.ZIP_DEFLATED)]
    _, header, rows = read_report(dest.read_bytes())
    assert header == COLUMNS
    assert rows == [
        ["Привет, мир", "3", "12.5", None],
        ['\'=HYPERLINK("http://evil.example","x")', "0", "0.0", "'-5"],
        ["'+1", "-1", None, "'@SUM(A1)"],
        ["'\tcmd", "1", "1.0", "'\rx"],
        ["a-b=c", "2", "3.0", "https://example.com/?a=1"],
    ]


def test_xlsx_stored_in_the_zip_reads_back_typed_and_neutralised(tmp_path: Path) -> None:
    dest = tmp_path / "r.zip"
    assert write_zip(ROWS, COLUMNS, "xlsx", dest, member="r.xlsx") == len(ROWS)
    with zipfile.ZipFile(dest) as z:
        assert [(i.filename, i.compress_type) for i in z.infolist()] == [("r.xlsx", zipfile.ZIP_STORED)]
    _, header, rows = read_report(dest.read_bytes())
    assert header == COLUMNS
    assert rows == [
        ["Привет, мир", 3, 12.5, None],
        ['\'=HYPERLINK("http://evil.example","x")', 0, 0, "'-5"],
        ["'+1", -1, None, "'@SUM(A1)"],
        ["'\tcmd", 1, 1, "'\rx"],
        ["a-b=c", 2, 3, "https://example.com/?a=1"],
    ]
    assert list(tmp_path.iterdir()) == [dest], "xlsxwriter's scratch files are removed"


def test_xlsx_keeps_urls_as_text_past_65530(tmp_path: Path) -> None:
    """xlsxwriter's default turns URLs into hyperlinks and silently drops them past 65,530."""
    rows = ({"url": f"https://example.com/{i}"} for i in range(65_600))
    dest = tmp_path / "r.zip"
    write_zip(rows, ["url"], "xlsx", dest, member="r.xlsx")
    with zipfile.ZipFile(dest) as outer, zipfile.ZipFile(outer.open("r.xlsx")) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert not any("hyperlink" in n for n in book.namelist())
    assert sheet.count("https://example.com/") == 65_600 and "https://example.com/65599<" in sheet


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_progress_every_n_rows_then_the_total(tmp_path: Path, fmt: str) -> None:
    seen: list[int] = []
    rows = (synthetic_row(i) for i in range(2500))
    write_zip(rows, EXPORT_FIELDS, fmt, tmp_path / "r.zip", member=f"r.{fmt}", on_progress=seen.append, every=1000)
    assert seen == [1000, 2000, 2500]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_empty_report_has_its_header(tmp_path: Path, fmt: str) -> None:
    seen: list[int] = []
    assert write_zip([], ["title"], fmt, tmp_path / "r.zip", member=f"r.{fmt}", on_progress=seen.append) == 0
    assert read_report((tmp_path / "r.zip").read_bytes())[1:] == (["title"], []) and seen == [0]


def test_a_failing_source_leaves_no_scratch_files(tmp_path: Path) -> None:
    def rows() -> object:
        yield {"title": "a"}
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError, match="store went away"):
        write_zip(rows(), ["title"], "xlsx", tmp_path / "r.zip", member="r.xlsx")  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["r.zip"]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "XLSX_MAX_ROWS", 3)
    with pytest.raises(files.TooManyRows, match="choose CSV"):
        write_zip([{"a": 1}] * 4, ["a"], "xlsx", tmp_path / "r.zip", member="r.xlsx")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_database_decimals_are_numbers(fmt: str) -> None:
    rows = [{"n": Decimal("12"), "x": Decimal("2.5")}]
    assert read_table(write_table(rows, ["n", "x"], fmt), fmt)[1] == (["12", "2.5"] if fmt == "csv" else [12, 2.5])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_write_table_is_a_plain_file_with_the_same_rules(fmt: str) -> None:
    header, *rows = read_table(write_table(ROWS, ["title", "views"], fmt), fmt)
    assert header == ["title", "views"]
    assert as_text(rows) == [
        ["Привет, мир", "3"],
        ['\'=HYPERLINK("http://evil.example","x")', "0"],
        ["'+1", "-1"],
        ["'\tcmd", "1"],
        ["a-b=c", "2"],
    ]


def test_row_sheet_writes_the_xml_xlsxwriter_writes_cell_by_cell() -> None:
    """``RowSheet.write_cells`` must stay byte-identical to xlsxwriter's own per-cell path."""
    import io

    import xlsxwriter

    tricky: list[files.Cell] = [
        "plain",
        1,
        2.5,
        None,
        "  lead",
        "trail ",
        "a\nb",
        'x&y<z>"',
        "\x01ctl\x1f",
        "_x0041_",
        "тест 😀",
        "\ttab",
        "'\rcr",
        10**17,
        0.1 + 0.2,
        -0.0,
        "",
        "\u00a0nb",
        "x" * 40_000,
        1e-300,
        "_x00zz_",
        1234567890123456,
    ]

    def sheet_xml(by_row: bool) -> bytes:
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_urls": False})
        sheet = book.add_worksheet("report", worksheet_class=files.RowSheet)
        sheet.write_string(0, 0, "header")
        for n in (1, 2, 5):
            if by_row:
                sheet.write_cells(n, tricky)
                continue
            for c, value in enumerate(tricky):
                if isinstance(value, str):
                    sheet.write_string(n, c, value)
                elif value is not None:
                    sheet.write_number(n, c, value)
        book.close()
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
            return z.read("xl/worksheets/sheet1.xml")

    assert sheet_xml(by_row=True) == sheet_xml(by_row=False)


def test_job_files_and_their_directories_are_their_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    """A job holds the address its report is mailed to."""
    import os

    from watchdepth.export.jobstore import JobStore
    from watchdepth.export.source import ExportSpec

    old = os.umask(0o022)
    try:
        store = JobStore(tmp_path / "exports")
        job = store.create(ExportSpec(fields=["title"], format="csv", folder_ids=[], email="a@example.com"), 0.0)
        with store.claim(job.id):
            pass
    finally:
        os.umask(old)
    for path in (tmp_path / "exports").rglob("*"):
        assert oct(path.stat().st_mode & 0o777) == ("0o700" if path.is_dir() else "0o600"), path
