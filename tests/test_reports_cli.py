"""`kcpf report smt|cabinet|pack`: each writes a Word report (to the report folder or --out) and says where;
bad input and refusals exit 2 with a message naming the problem."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import docx
import pytest

from connectors.sqlite_register import SqliteRegister
from connectors.word import default_template
from kcpf.cli import main
from kcpf.framework import FRAMEWORK_2025
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at
from tests.report_register import JO, SAM, TODAY, TP, build
from tests.word_reading import all_text, open_docx

ON = ["--on", "20 November 2026"]


@pytest.fixture(autouse=True)
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("KCPF_USER", "KCPF_SMT", "KCPF_VIEWERS", "KCPF_FRAMEWORK_VERSION", "KCPF_REPORT_TEMPLATE",
                 "KCPF_LINK_SECRET"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("KCPF_DATA_DIR", str(data))
    monkeypatch.setenv("KCPF_TP", TP.email)
    clock = FixedClock(at(TODAY))
    with SqliteRegister(data / "register.sqlite3") as register:
        build(FrameworkService(register, clock, FRAMEWORK_2025), clock)
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_smt_report_goes_to_the_report_folder(capsys: pytest.CaptureFixture[str], data: Path) -> None:
    code, out, err = run(capsys, "report", "smt", "--period", "2026/27-H1", *ON, "--by", TP.email)
    assert code == 0, err
    path = data / "reports" / "smt-update-2026-27-h1.docx"
    assert out == f"Wrote “Key contracts and partnerships: biannual update to SMT, 2026/27-H1” to {path}.\n"
    text = all_text(open_docx(path.read_bytes()))
    assert "KCP-0001 Leisure centres" in text
    assert "compiled by Transformation and Partnerships on 20 November 2026" in text
    assert stat.S_IMODE(os.stat(data / "link-secret").st_mode) == 0o600


def test_cabinet_report_with_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KCPF_USER", TP.email)
    out_file = tmp_path / "cabinet.docx"
    code, out, err = run(
        capsys, "report", "cabinet", "--council", "south ribble", "--year", "2025/26", "--meeting-date",
        "15/07/2026", "--confidential-risk", "--finance-comments", "No financial implications.",
        "--framework-url", "https://www.southribble.gov.uk/kcpf", "--report-of", "Director of Communities",
        "--out", str(out_file), *ON,
    )  # fmt: skip
    assert code == 0, err
    assert out.endswith(f"to {out_file}.\n")
    word = open_docx(out_file.read_bytes())
    text = all_text(word)
    assert "Director of Communities | Cabinet | 15 July 2026" in text
    assert "No financial implications." in text
    assert word.sections[-1].header.paragraphs[0].text.startswith("CONFIDENTIAL")
    assert [r.target_ref for r in word.part.rels.values() if r.is_external] == [
        "https://www.southribble.gov.uk/kcpf"
    ]


def test_an_officer_produces_their_own_pack(capsys: pytest.CaptureFixture[str], data: Path) -> None:
    code, _, err = run(capsys, "report", "pack", "kcp-1", "--by", JO.email, *ON)
    assert code == 0, err
    assert (data / "reports" / "appendix-a-kcp-0001.docx").exists()
    code, _, err = run(capsys, "report", "pack", "KCP-0001", "--by", SAM.email, *ON)
    assert code == 2
    assert "Only KCP-0001's responsible officer" in err
    code, _, err = run(capsys, "report", "smt", "--period", "2026/27-H1", "--by", JO.email)
    assert code == 2
    assert (
        err
        == "kcpf: Only Transformation and Partnerships produces the updates to SMT and to the executives.\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["smt", "--period", "2026/27-H3"], "is not a half-year"),
        (["cabinet", "--council", "shared", "--year", "2025/26"], "one council's executive"),
        (["cabinet", "--council", "chorley", "--year", "2025/27"], "the second year must follow"),
        (["pack", "KCP-0099"], "KCP-0099"),
        (["smt", "--period", "2026/27-H1", "--out", "report.pdf"], "ends in .docx"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["report", *argv, "--by", TP.email])
    except SystemExit as stopped:  # argparse stops on a malformed option, with the same exit code
        code = int(stopped.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_councils_template_is_checked_at_start_up(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = docx.Document(io.BytesIO(default_template()))
    template.styles["List Bullet"].name = "Bullets"
    path = tmp_path / "council.docx"
    template.save(str(path))
    monkeypatch.setenv("KCPF_REPORT_TEMPLATE", str(path))
    code, _, err = run(capsys, "report", "smt", "--period", "2026/27-H1", "--by", TP.email)
    assert code == 2
    assert "KCPF_REPORT_TEMPLATE" in err
    assert "“List Bullet”" in err
    monkeypatch.setenv("KCPF_REPORT_TEMPLATE", str(tmp_path / "council.dotx"))
    code, _, err = run(capsys, "register", "list")
    assert code == 2
    assert "KCPF_REPORT_TEMPLATE is" in err


def test_a_short_link_secret_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KCPF_LINK_SECRET", "too-short")
    code, _, err = run(capsys, "register", "list")
    assert code == 2
    assert "KCPF_LINK_SECRET is too short" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "smt", "--period", "2027/28-H1"], "2027/28-H1 has not begun yet"),
        (["report", "cabinet", "--council", "chorley", "--year", "2030/31"], "2030/31 has not begun yet"),
        (
            [
                "report",
                "cabinet",
                "--council",
                "chorley",
                "--year",
                "2025/26",
                "--framework-url",
                "javascript:x",
            ],
            "is not a web address",
        ),
    ],
)
def test_reports_that_would_mislead_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv, *ON, "--by", TP.email)
    assert code == 2
    assert message in err
