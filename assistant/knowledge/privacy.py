"""The knowledge base holds articles for every member of staff to search: no patient's data.

A document is checked against the practice's patients before it is stored (and so before it
can be embedded and found). Only matches that identify one of the practice's patients refuse
it: a surname alone, or a date, is common in optics articles ("Young's experiment").
"""

from __future__ import annotations

from typing import Any

from assistant.knowledge.errors import KnowledgeDocumentInvalid
from practice.patient_data_scan import PatientDataMatch, PatientIndex, may_see_patients


def patients_in_document(text: str, *, index: PatientIndex | None = None) -> list[PatientDataMatch]:
    index = index if index is not None else PatientIndex.from_database()
    if not index:
        return []
    return [match for match in index.find(text) if match.patient_id is not None]


def document_privacy_check(*, text: str, user: Any) -> None:
    """KnowledgeDocumentInvalid naming what was found (the values only for those who may see patients)."""
    found = patients_in_document(text)
    if not found:
        return
    reveal = may_see_patients(user)
    described = sorted({match.describe(reveal=reveal) for match in found})
    raise KnowledgeDocumentInvalid(
        {
            "content": [
                "The document holds patient data, and the knowledge base is searched by all staff: "
                "remove it and upload again. Found: " + "; ".join(described[:10])
            ]
        }
    )
