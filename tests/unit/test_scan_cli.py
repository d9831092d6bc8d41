"""run_scan: readable and JSON reports, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

from aligner_core.cli.scan import run_scan
from aligner_core.testing.contracts.files import (
    ascii_stl_bytes,
    binary_stl_bytes,
    pdf_bytes,
    zip_bytes,
)


def _files(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, data in {
        "upper.stl": binary_stl_bytes(),
        "lower.stl": ascii_stl_bytes(),
        "notes.pdf": pdf_bytes(),
        "all.zip": zip_bytes(),
        "broken.stl": binary_stl_bytes(count=99),
        "fake.stl": pdf_bytes(),
    }.items():
        (tmp_path / name).write_bytes(data)
        out[name] = str(tmp_path / name)
    return out


def test_all_accepted_exit_zero(tmp_path: Path) -> None:
    files = _files(tmp_path)
    out = io.StringIO()
    code = run_scan(
        [files["upper.stl"], files["lower.stl"], files["notes.pdf"], files["all.zip"]],
        as_json=False,
        out=out,
    )
    text = out.getvalue()
    assert code == 0
    assert text.count(": accepted") == 4
    assert "binary STL" in text and "ascii STL" in text
    assert "triangles:     4" in text
    assert "closed surface" in text
    assert "entries:       2" in text


def test_refused_exit_one_with_reasons(tmp_path: Path) -> None:
    files = _files(tmp_path)
    out = io.StringIO()
    code = run_scan(
        [files["upper.stl"], files["broken.stl"], str(tmp_path / "missing.stl")],
        as_json=False,
        out=out,
    )
    text = out.getvalue()
    assert code == 1
    assert f"{files['broken.stl']}: REFUSED" in text
    assert "claims 99 triangles" in text
    assert "missing.stl: REFUSED" in text


def test_pdf_named_stl_is_refused_with_its_reason(tmp_path: Path) -> None:
    files = _files(tmp_path)
    out = io.StringIO()
    assert run_scan([files["fake.stl"]], as_json=False, out=out) == 1
    assert "application/pdf" in out.getvalue()


def test_json_output(tmp_path: Path) -> None:
    files = _files(tmp_path)
    out = io.StringIO()
    code = run_scan([files["upper.stl"], files["broken.stl"]], as_json=True, out=out)
    results = json.loads(out.getvalue())
    assert code == 1
    assert [r["accepted"] for r in results] == [True, False]
    report = results[0]["report"]
    assert results[0]["kind"] == "upper_scan"
    assert report["media_type"] == "model/stl"
    assert report["mesh"]["triangles"] == 4
    assert report["mesh"]["plausibility"] == "plausible"
    assert report["mesh"]["size_mm"] == [50.0, 40.0, 20.0]
    assert "claims 99 triangles" in results[1]["reasons"][0]
    assert results[1]["codes"] == ["stl.invalid"]


def test_polyglot_is_refused_with_its_code(tmp_path: Path) -> None:
    path = tmp_path / "scan.stl"
    path.write_bytes(binary_stl_bytes(header=b"%PDF-1.4 but also a mesh"))
    out = io.StringIO()
    assert run_scan([str(path)], as_json=True, out=out) == 1
    (result,) = json.loads(out.getvalue())
    assert "content.polyglot" in result["codes"]


def test_default_output_is_stdout(tmp_path: Path, capsys: object) -> None:
    files = _files(tmp_path)
    assert run_scan([files["notes.pdf"]], as_json=True) == 0
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert json.loads(captured.out)[0]["report"]["media_type"] == "application/pdf"
