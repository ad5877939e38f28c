"""Reading files: encodings, line endings, headers spanning lines, CSV and XLSX."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from citymeter.errors import InvalidInput
from citymeter.observations.mapping import FileSpec
from citymeter.observations.reading import read_table

KOREAN = '행정구역,2025년04월_남_0세\n세종특별자치시  조치원읍(3611025000),"1,433"\n'


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_reads_the_same(ending: str) -> None:
    data = ending.join(["code,value", "A,1", "B,2", ""]).encode()
    table = read_table(data, FileSpec(), "t.csv")
    assert table.headers == ["code", "value"]
    assert [list(r) for r in table.rows] == [["A", "1"], ["B", "2"]]


def test_a_declared_line_ending_is_checked() -> None:
    with pytest.raises(InvalidInput, match="CR line endings, not LF"):
        read_table(b"a,b\r1,2\r", FileSpec(line_ending="lf"), "t.csv")


def test_bom_is_not_part_of_the_first_header() -> None:
    data = "\ufeffNew_Code,Borough\rE1,X\r".encode()
    for encoding in ("auto", "utf-8", "utf-8-sig"):
        table = read_table(data, FileSpec(encoding=encoding), "t.csv")
        assert table.headers == ["New_Code", "Borough"]


def test_cp949_declared_and_detected() -> None:
    data = KOREAN.encode("cp949")
    declared = read_table(data, FileSpec(encoding="cp949"), "k.csv")
    assert declared.headers[1] == "2025년04월_남_0세"
    detected = read_table(data, FileSpec(encoding="auto"), "k.csv")
    assert detected.headers == declared.headers


def test_a_cp949_file_declared_utf8_is_refused_with_a_suggestion() -> None:
    with pytest.raises(InvalidInput, match=r"does not decode as utf-8 .*file.encoding"):
        read_table(KOREAN.encode("cp949"), FileSpec(encoding="utf-8"), "k.csv")


def test_a_utf8_file_declared_cp949_is_refused() -> None:
    with pytest.raises(InvalidInput, match="is UTF-8, not cp949"):
        read_table(KOREAN.encode("utf-8"), FileSpec(encoding="cp949"), "k.csv")


def test_headers_spanning_lines_are_joined() -> None:
    data = b'code,"Average_Age,\n_2017"\nA,30\n'
    assert read_table(data, FileSpec(), "t.csv").headers == ["code", "Average_Age,_2017"]


def test_semicolons_and_a_later_header_row() -> None:
    data = b"title line\ncode;value\nA;1,5\n"
    table = read_table(data, FileSpec(delimiter=";", header_row=2), "t.csv")
    assert table.headers == ["code", "value"]
    assert [list(r) for r in table.rows] == [["A", "1,5"]]


def test_xlsx_sheet() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    sheet.append(["code", "value"])
    sheet.append(["A", 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), FileSpec(format="xlsx", sheet="data"), "t.xlsx")
    assert table.headers == ["code", "value"]
    assert [list(r) for r in table.rows] == [["A", 1.5]]
    with pytest.raises(InvalidInput, match="no sheet 'other'"):
        read_table(buffer.getvalue(), FileSpec(format="xlsx", sheet="other"), "t.xlsx")
    with pytest.raises(InvalidInput, match="not a readable XLSX"):
        read_table(b"not a zip", FileSpec(format="xlsx"), "t.xlsx")


@pytest.mark.realdata
def test_the_london_ward_file_with_cr_endings_and_bom(real_data: Path) -> None:
    data = (real_data / "london" / "ward_pollution.csv").read_bytes()
    table = read_table(data, FileSpec(encoding="auto"), "ward_pollution.csv")
    assert table.headers[0] == "New_Code"
    rows = list(table.rows)
    assert len(rows) == 625
    best = max(rows, key=lambda r: float(r[5]))
    assert (best[2], best[5]) == ("Bryanston_and_Dorset_Square", "51.22")
