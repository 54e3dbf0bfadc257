"""The command line as T&P administrators and scripts use it: exit codes 0 ok, 2 bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from connectors.sqlite_register import SqliteRegister
from kcpf.assessment import Answer
from kcpf.cli import main
from kcpf.framework import FRAMEWORK_2025
from kcpf.lifecycle import RoleDirectory
from kcpf.model import ArrangementType, Council, Status
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at

DATA = Path(__file__).parent / "data"
TP = "tp@chorley.gov.uk"
JO = "jo.bloggs@chorley.gov.uk"


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("KCPF_USER", "KCPF_SMT", "KCPF_VIEWERS", "KCPF_FRAMEWORK_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KCPF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KCPF_TP", TP)
    return tmp_path / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def answers(by: str, **given: str) -> list[str]:
    """`assess` options: every criterion "no" unless given."""
    argv: list[str] = []
    for criterion in ("financial", "priorities", "risk", "length", "resource"):
        argv += [f"--{criterion}", given.get(criterion, "no")]
    return [*argv, "--by", by]


def imported(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(
        capsys, "register", "import", str(DATA / "chorley-contracts.csv"), "--council", "chorley", "--by", TP
    )
    assert code == 0, err
    return out


def imported_with_officer(capsys: pytest.CaptureFixture[str]) -> None:
    """The sample register, with Jo as KCP-0001's responsible officer."""
    imported(capsys)
    code, _, err = run(capsys, "register", "assign", "KCP-0001", "--officer", JO, "--by", TP)
    assert code == 0, err


def test_import_list_show(capsys: pytest.CaptureFixture[str]) -> None:
    out = imported(capsys)
    assert "Row 8: This row repeats row 4, so it was imported once." in out
    assert "Imported chorley-contracts.csv for Chorley Council: 6 added, 0 updated, 0 unchanged." in out

    code, out, _ = run(capsys, "register", "list", "--council", "chorley")
    assert code == 0
    assert "KCP-0001" in out
    assert "KCP-0006" in out
    assert "Eyes & Ears Security Ltd" in out
    assert "6 contracts and partnerships listed." in out

    code, out, _ = run(capsys, "register", "show", "kcp-2")
    assert code == 0
    assert "KCP-0002  Leisure centres management" in out
    assert "total value: £3,500,000" in out
    assert "Term: 1 April 2025 to 31 March 2035 (10 years)" in out
    assert "Responsible officer: none assigned" in out


def test_reimporting_the_same_file_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    imported(capsys)
    out = imported(capsys)
    assert "0 added, 0 updated, 6 unchanged." in out


def test_only_tp_imports(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "register", "import", str(DATA / "chorley-contracts.csv"), "--council", "chorley", "--by", JO
    )
    assert code == 2
    assert "Only the Transformation and Partnerships team imports contract registers." in err


def test_a_bad_file_imports_nothing_and_names_every_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Title,Supplier,Value,Start date,End date\n"
        "Pest control,Rat-Away Ltd,£abc,01/04/2025,31/03/2027\n"
        "Street lighting,Bright Ltd,£90000,31/02/2026,31/03/2030\n"
        "Parking enforcement,Wardens Ltd,£50000,01/04/2025,31/03/2028\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "register", "import", str(bad), "--council", "south-ribble", "--by", TP)
    assert code == 2
    assert "Row 2, Value:" in err
    assert "Row 3, Start date: 31 February 2026 does not exist" in err
    assert "Nothing was imported" in err
    assert run(capsys, "register", "list")[1].startswith("The register has no contracts")

    code, out, err = run(
        capsys, "register", "import", str(bad), "--council", "south-ribble", "--skip-invalid", "--by", TP
    )
    assert code == 0
    assert "1 added" in out
    assert "2 rows with problems were left out" in out


def test_unknown_columns_are_named_and_map_fixes_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("What we bought,Who from,Cost\nPest control,Rat-Away Ltd,£5000\n", encoding="utf-8")
    code, _, err = run(capsys, "register", "import", str(odd), "--council", "chorley", "--by", TP)
    assert code == 2
    assert "What we bought" in err
    assert "--map" in err
    code, out, err = run(
        capsys, "register", "import", str(odd), "--council", "chorley", "--by", TP,
        "--map", "What we bought=title", "--map", "Who from=supplier_name", "--map", "Cost=value",
    )  # fmt: skip
    assert code == 0, err
    assert "1 added" in out


def test_assign_then_assess(capsys: pytest.CaptureFixture[str]) -> None:
    imported(capsys)
    code, _, err = run(capsys, "assess", "KCP-0001", *answers(JO, financial="yes", risk="yes"))
    assert code == 2
    assert "has no responsible officer yet" in err

    code, out, _ = run(
        capsys, "register", "assign", "KCP-0001", "--officer", JO, "--name", "Jo Bloggs", "--by", TP
    )
    assert code == 0
    assert "KCP-0001: responsible officer is now Jo Bloggs <jo.bloggs@chorley.gov.uk>." in out

    given = {"financial": "yes, £1.8m a year", "priorities": "yes - a green borough", "risk": "yes"}
    code, out, err = run(capsys, "assess", "KCP-0001", *answers(JO, **given, length="yes"))
    assert code == 0, err
    assert "KCP-0001 Waste and recycling collection: 4 of 5 met:" in out
    assert "met: Financial, Corporate Priorities, Risk, Length: key." in out

    code, out, _ = run(capsys, "register", "show", "KCP-0001")
    assert "Financial: yes, £1.8m a year" in out
    assert "Resource: no" in out


def test_a_bad_answer_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    imported_with_officer(capsys)
    code, _, err = run(capsys, "assess", "KCP-0001", *answers(JO, financial="maybe"))
    assert code == 2
    assert "--financial:" in err
    assert "yes or no" in err


def test_exports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    imported_with_officer(capsys)
    run(capsys, "assess", "KCP-0001", *answers(JO, financial="yes", risk="yes", length="yes"))

    code, out, _ = run(capsys, "register", "export", "--format", "json", "--out", str(tmp_path / "r.json"))
    assert code == 0
    assert "Exported 6 contracts and partnerships" in out
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    first = document["arrangements"][0]
    assert first["reference"] == "KCP-0001"
    assert first["total_value"] == "12500000.00"
    assert first["latest_assessment"]["met_count"] == 3
    assert first["latest_assessment"]["key"] is True
    assert first["latest_assessment"]["framework_version"] == "2025.1"
    assert first["latest_assessment"]["criteria"]["priorities"]["met"] is False
    assert first["status"] == "assessed"
    assert document["arrangements"][1]["latest_assessment"] is None

    code, _, _ = run(capsys, "register", "export", "--format", "csv", "--out", str(tmp_path / "r.csv"))
    assert code == 0
    text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Reference")
    assert "Waste and recycling collection" in text

    # The CSV export imports again as the same register: nothing changes.
    code, out, _ = run(
        capsys, "register", "import", str(tmp_path / "r.csv"), "--council", "chorley", "--by", TP
    )
    assert code == 0
    assert "0 added, 0 updated, 6 unchanged." in out


def test_due(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "due", "--on", "15/10/2026")
    assert code == 0
    assert "Due and overdue on 15 October 2026:" in out
    assert "Nothing is due or overdue." in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["register", "show", "KCP-0099"], "KCP-0099"),
        (["register", "show", "ABC"], "References look like KCP-0001"),
        (["register", "list", "--council", "Preston"], "Answer Chorley, South Ribble, or shared"),
        (["due", "--on", "31/02/2026"], "31 February 2026 does not exist"),
        (["register", "import", "missing.csv", "--council", "chorley", "--by", TP], "missing.csv"),
        (["register", "assign", "KCP-0001", "--officer", JO], "--by EMAIL"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own refusals exit with 2 too
        code = int(exited.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_bad_setting_is_named(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCPF_TP", "not an email")
    code, _, err = run(capsys, "register", "list")
    assert code == 2
    assert "KCPF_TP must be a comma-separated list" in err


def test_the_console_script(environment: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kcpf", "register", "list"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "The register has no contracts" in result.stdout
    assert (environment / "register.sqlite3").exists()


def test_an_unusable_data_directory_is_named_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("", encoding="utf-8")
    monkeypatch.setenv("KCPF_DATA_DIR", str(a_file))
    code, out, err = run(capsys, "register", "list")
    assert code == 2
    assert f"KCPF_DATA_DIR is “{a_file}”, which KCPF cannot use as its data directory" in err
    assert "Traceback" not in out + err


def test_exporting_to_a_folder_that_does_not_exist_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for kind in ("json", "csv"):
        code, _, err = run(
            capsys, "register", "export", "--format", kind, "--out", str(tmp_path / "nowhere" / "r")
        )
        assert code == 2
        assert "Cannot write" in err
        assert "No such file or directory" in err


def test_an_unexpected_failure_gives_an_incident_id_and_logs_the_details(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, environment: Path
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("connectors.sqlite_register.SqliteRegister.arrangements", broken)
    code, out, err = run(capsys, "register", "list")
    assert code == 1
    assert "something went wrong (incident " in err
    assert "Traceback" not in out + err
    assert "disk on fire" not in err
    log = (environment / "kcpf.log").read_text(encoding="utf-8")
    assert "RuntimeError: disk on fire" in log
    incident = err.split("incident ")[1].split(")")[0]
    assert incident in log


def test_leaving_out_a_criterion_the_record_answers_accepts_the_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    imported_with_officer(capsys)
    code, out, _ = run(capsys, "register", "show", "KCP-0001")
    assert "The record suggests Financial: yes (the total value of £12,500,000 over 7 years is about" in out
    assert "The record suggests Length: yes (the term is 7 years" in out

    code, _, err = run(capsys, "assess", "KCP-0001", "--risk", "yes", "--by", JO)
    assert code == 2
    assert "Every criterion needs a yes or no. Still to answer: Corporate Priorities, Resource." in err

    code, out, err = run(
        capsys, "assess", "KCP-0001", "--priorities", "no", "--risk", "yes", "--resource", "no", "--by", JO
    )
    assert code == 0, err
    assert "3 of 5 met: Financial, Risk, Length: key." in out
    code, out, _ = run(capsys, "register", "show", "KCP-0001")
    assert "Financial: yes, as the record suggests: the total value of £12,500,000" in out


def test_overriding_a_suggestion_without_a_reason_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    imported_with_officer(capsys)
    code, _, err = run(capsys, "assess", "KCP-0001", *answers(JO, length="yes"))
    assert code == 2
    assert "Give a reason where your answer differs from what the record suggests: Financial" in err


def test_due_lists_what_each_officer_owes(capsys: pytest.CaptureFixture[str], environment: Path) -> None:
    environment.mkdir(parents=True, exist_ok=True)
    clock = FixedClock(at(date(2026, 5, 1)))
    roles = RoleDirectory(tp=frozenset({TP}))
    with SqliteRegister(environment / "register.sqlite3") as register:
        kcpf = FrameworkService(register, clock, FRAMEWORK_2025)
        for title, officer in (("Waste collection", JO), ("Leisure centres", "sam@southribble.gov.uk")):
            saved = kcpf.identify(
                roles.actor(officer),
                title=title,
                type=ArrangementType.CONTRACT,
                council=Council.CHORLEY,
                partner="Acme Ltd",
            )
            assert saved.reference is not None
            met = {
                k: Answer(k in ("financial", "risk", "length"), "see report")
                for k in FRAMEWORK_2025.criterion_keys
            }
            kcpf.assess(roles.actor(officer), saved.reference, met)
            kcpf.propose(roles.actor(officer), saved.reference)
            kcpf.decide(roles.actor(TP), saved.reference, Status.KEY)

    code, out, _ = run(capsys, "due", "--on", "15 November 2026")
    assert code == 0
    assert "Due and overdue on 15 November 2026:" in out
    assert (
        "jo.bloggs@chorley.gov.uk\n  OVERDUE  KCP-0001 Waste collection: biannual update for 2026/27-H1"
        in out
    )
    assert "(due 31 October 2026)" in out
    assert "sam@southribble.gov.uk\n  OVERDUE  KCP-0002 Leisure centres" in out
    assert "2 items owed, 2 overdue." in out

    code, out, _ = run(capsys, "due", "--on", "15/10/2026", "--officer", JO)
    assert "DUE      KCP-0001" in out
    assert "KCP-0002" not in out
