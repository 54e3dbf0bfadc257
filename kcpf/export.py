"""The register as one JSON-ready document: each arrangement with its latest assessment, status, open
governance gaps and monitoring updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kcpf.framework import FrameworkVersion
from kcpf.records import to_data
from kcpf.services import ArrangementFile


def export_document(
    files: Sequence[ArrangementFile], framework: FrameworkVersion, at: datetime
) -> dict[str, Any]:
    return {
        "exported_at": at.isoformat(),
        "framework_version": framework.version,
        "arrangements": [_arrangement(f) for f in files],
    }


def _arrangement(file: ArrangementFile) -> dict[str, Any]:
    data: dict[str, Any] = to_data(file.arrangement)
    latest = file.latest_assessment
    data["latest_assessment"] = (
        None
        if latest is None
        else {
            "framework_version": latest.framework_version,
            "criteria": {
                a.criterion: {
                    "met": a.met,
                    "reason": a.reason,
                    "suggested": None if a.suggestion is None else a.suggestion.met,
                }
                for a in latest.answers
            },
            "met_count": latest.met_count,
            "key": latest.is_key,
            "explanation": latest.explanation,
            "assessed_by": latest.assessed_by,
            "assessed_at": latest.assessed_at.isoformat(),
        }
    )
    data["smt_decisions"] = to_data(file.decisions)
    governance = file.latest_governance
    data["governance_gaps"] = [] if governance is None else to_data(governance.gaps)
    data["monitoring_updates"] = to_data(file.updates)
    return data
