"""KCPF as an administrator installs it (`pip install .`, as App Service does from requirements.txt): the
wheel carries the data the code reads (the Teams manifest and icons, the SharePoint schema), and the installed
code finds it there, not in this checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel, built offline, and its contents installed in a folder of their own."""
    source = tmp_path_factory.mktemp("source")  # a clean copy: no build/ left from an earlier build
    for name in ("pyproject.toml", "README.md", "kcpf", "connectors", "bot", "manifests"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("kcpf-*.whl")
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return wheel, target


def test_the_wheel_carries_the_data_the_code_reads_and_no_tests(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {
        str(p.relative_to(ROOT)) for p in (ROOT / "manifests").rglob("*") if p.suffix in (".json", ".png")
    }
    assert data, "the checkout has manifests"
    assert data <= names
    page = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "connectors" / "register_page").rglob("*")
        if p.suffix in (".html", ".css")
    }
    assert len(page) >= 5, "the register page's templates and stylesheet"
    assert page <= names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


def test_the_installed_kcpf_packages_the_teams_app_and_reads_the_sharepoint_schema(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, target = installed
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KCPF_")},
        "PYTHONPATH": str(target),  # before this checkout's editable install
        "KCPF_DATA_DIR": str(tmp_path / "data"),
        "KCPF_APP_ID": "11111111-1111-4111-8111-111111111111",
        "KCPF_APP_TENANT_ID": "22222222-2222-4222-8222-222222222222",
        "KCPF_APP_PASSWORD": "not-used-by-packaging",
        "KCPF_PUBLIC_URL": "https://kcpf.chorley.gov.uk",
    }
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import connectors.teams_package as t, connectors.sharepoint.schema as s; "
            "print(t.MANIFEST_DIR); print(len(s.load_schema().lists))",
            "",
        ],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(target)
    assert int(where[1]) >= 5
    out = tmp_path / "kcpf.zip"
    run = subprocess.run(
        [sys.executable, "-m", "kcpf", "teams", "package", "--output", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(zipfile.ZipFile(out).namelist()) == {"manifest.json", "color.png", "outline.png"}
