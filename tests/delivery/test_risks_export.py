"""The risk register as CSV and XLSX, with cells that a spreadsheet could run made safe."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from partnerwell.core.models import Partnership, User
from partnerwell.delivery.models import RiskStatus
from tests.delivery.test_risks import make_risk, member


def _rows_csv(client: Client, partnership: Partnership) -> list[list[str]]:
    response = client.get(f"/partnerships/{partnership.pk}/risks/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="Alpha Forum risk register.csv"' in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_it_exports_the_register_as_csv(
    bob_client: Client, alice: User, bob: User, partnership_a: Partnership
) -> None:
    today = timezone.localdate()
    make_risk(
        partnership_a,
        title="Funding falls through",
        likelihood=4,
        impact=5,
        target_likelihood=2,
        target_impact=3,
        review_on=today - dt.timedelta(days=1),
        escalate=True,
        owner=member(alice),
    )
    make_risk(partnership_a, title="Closed one", status=RiskStatus.CLOSED, likelihood=1, impact=1)
    header, *rows = _rows_csv(bob_client, partnership_a)
    assert header[:3] == ["title", "category", "description"]
    by_title = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(by_title) == {"Funding falls through", "Closed one"}
    first = by_title["Funding falls through"]
    assert (first["likelihood"], first["impact"], first["rating"]) == ("4", "5", "20")
    assert first["rating band"] == "Very high"
    assert first["target rating"] == "6"
    assert first["above target"] == "yes"
    assert first["review overdue"] == "yes"
    assert first["escalate to next meeting"] == "yes"
    assert first["owner"] == "Alice Manager"
    assert by_title["Closed one"]["status"] == "Closed"
    # A closed risk is never overdue or above target.
    assert by_title["Closed one"]["review overdue"] == "no"


def test_it_escapes_cells_a_spreadsheet_would_run(
    bob_client: Client, alice: User, partnership_a: Partnership
) -> None:
    make_risk(
        partnership_a,
        title='=HYPERLINK("http://evil")',
        cause="+1+1",
        effect="-2",
        controls="@SUM(A1)",
    )
    header, row = _rows_csv(bob_client, partnership_a)
    cells = dict(zip(header, row, strict=True))
    assert cells["title"] == '\'=HYPERLINK("http://evil")'
    assert cells["cause"] == "'+1+1"
    assert cells["effect"] == "'-2"
    assert cells["controls"] == "'@SUM(A1)"


def test_it_exports_the_register_as_xlsx(
    bob_client: Client, alice: User, partnership_a: Partnership
) -> None:
    make_risk(partnership_a, title="=1+1", likelihood=2, impact=5)
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/risks/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, row = [list(r) for r in sheet.iter_rows(values_only=True)]
    cells = dict(zip(header, row, strict=True))
    assert cells["title"] == "'=1+1"
    # Numbers stay numbers, so the sheet can sort and sum them.
    assert cells["rating"] == 10
    assert cells["likelihood"] == 2


def test_it_keeps_the_export_from_another_partnership(
    carol_client: Client, alice: User, carol: User, partnership_a: Partnership
) -> None:
    make_risk(partnership_a)
    for fmt in ("csv", "xlsx"):
        assert (
            carol_client.get(f"/partnerships/{partnership_a.pk}/risks/export.{fmt}").status_code
            == 404
        )
