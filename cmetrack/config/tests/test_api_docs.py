"""docs/api.md's endpoint table and kinds of problem are the ones the code makes."""

from __future__ import annotations

from cmetrack.config import apidocs


def test_docs_api_md_is_current():
    current = apidocs.DOC.read_text(encoding="utf-8")
    assert apidocs.render(current, apidocs.openapi()) == current, (
        "docs/api.md is stale: run python deploy/api_docs.py"
    )


def test_the_table_lists_every_operation_with_its_errors():
    schema = apidocs.openapi()
    table = apidocs.endpoint_table(schema)
    operations = sum(1 for ops in schema["paths"].values() for m in ops if m in apidocs.METHODS)
    assert len(table.splitlines()) == operations + 2
    assert "| Referrals | POST | `/api/v1/referrals/{reference}/triage` |" in table
