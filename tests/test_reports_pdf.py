"""Each kind of report converts to PDF with LibreOffice (as a council would print or publish it): the text
survives, each section starts a new page, landscape sections print landscape, and the page count is right."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcpf.calendar import FinancialYear
from kcpf.model import Council
from kcpf.reports.cabinet import CabinetDetails
from kcpf.reports.content import Document, Heading
from kcpf.reports.service import CabinetReport, PackReport, ReportRequest, SmtReport
from tests.conftest import require_system_package
from tests.report_register import H1, TP, Built, built

pytestmark = pytest.mark.system

KINDS: dict[str, ReportRequest] = {
    "smt": SmtReport(H1),
    "cabinet": CabinetReport(
        Council.SOUTH_RIBBLE, FinancialYear(2025), CabinetDetails(confidential_risk=True)
    ),
    "pack": PackReport("KCP-0001"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    with built(tmp_path_factory.mktemp("pdf")) as world:
        yield world


def words(text: str) -> str:
    """Text as compared: spacing normalised, and hyphens dropped (pdftotext joins a word broken at a
    hyphen at the end of a line: "2026/27-" and "H1" come out as "2026/27H1")."""
    return re.sub(r"\s+", " ", text.replace("-", "")).strip()


def convert(docx: Path, work: Path) -> Path:
    soffice = require_system_package("soffice", "libreoffice-writer-nogui")
    profile = (work / "profile").as_uri()  # a profile of our own: parallel runs must not share one
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(work), str(docx)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = work / (docx.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice wrote no PDF for {docx.name}"
    return pdf


def pdf_pages(pdf: Path) -> list[str]:
    pdftotext = require_system_package("pdftotext", "poppler-utils")
    text = subprocess.run([pdftotext, str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]  # each page ends with a form feed


def page_sizes(pdf: Path, pages: int) -> list[tuple[float, float]]:
    pdfinfo = require_system_package("pdfinfo", "poppler-utils")
    info = subprocess.run(
        [pdfinfo, "-f", "1", "-l", str(pages), str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def first_heading(section_blocks: tuple[object, ...]) -> str | None:
    return next((b.text for b in section_blocks if isinstance(b, Heading)), None)


@pytest.mark.parametrize("kind", list(KINDS))
def test_report_converts_to_pdf_with_its_text_and_pages(kind: str, world: Built, tmp_path: Path) -> None:
    request = KINDS[kind]
    content: Document = world.reports.document(TP, request)
    path = Path(world.reports.produce(TP, request).location)
    pdf = convert(path, tmp_path)
    pages = pdf_pages(pdf)
    text = words(" ".join(pages))

    assert words(content.title) in text
    for heading in content.headings():
        assert words(heading.text) in text, heading.text
    assert "£1,250,000" in text  # the leisure centres' annual value
    assert re.search(r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November"
                     r"|December) 20\d\d", text)  # fmt: skip
    assert "Page 1 of " + str(len(pages)) in words(pages[0])

    # Every section starts a page, so there are at least as many pages as sections, and each section's
    # first heading opens a page (after the confidential marking, on an exempt appendix's pages).
    assert len(pages) >= len(content.sections)
    openings = [words(page) for page in pages]
    for section in content.sections[1:]:
        opening = first_heading(section.blocks)
        assert opening is not None
        marking = words(section.confidential)
        assert any(page.removeprefix(marking).strip().startswith(words(opening)) for page in openings), (
            opening
        )

    sizes = page_sizes(pdf, len(pages))
    assert len(sizes) == len(pages)
    landscape_pages = sum(1 for w, h in sizes if w > h)
    assert (landscape_pages > 0) == any(s.landscape for s in content.sections)
    assert all({round(w), round(h)} == {595, 842} for w, h in sizes), "A4"


def test_the_confidential_appendix_is_marked_on_its_pages(world: Built, tmp_path: Path) -> None:
    request = KINDS["cabinet"]
    pdf = convert(Path(world.reports.produce(TP, request).location), tmp_path)
    pages = [words(p) for p in pdf_pages(pdf)]
    marked = [i for i, page in enumerate(pages) if page.startswith("CONFIDENTIAL: not for publication")]
    assert marked
    assert marked[-1] == len(pages) - 1
    assert 0 not in marked
