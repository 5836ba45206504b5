"""A measure's values import uses the same guarded XLSX reader as the member import."""

from __future__ import annotations

import html
import sys
from pathlib import Path

from django.test import Client

from partnerwell.delivery.models import Measure
from tests.delivery.test_measures_import import measure, upload  # noqa: F401 - the fixture

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import import_bench


def test_it_refuses_a_zip_bomb_and_keeps_the_values(
    alice_client: Client,
    measure: Measure,  # noqa: F811 - the fixture
) -> None:
    page = html.unescape(
        upload(alice_client, measure, "values.xlsx", import_bench.huge_compressible_sheet(mb=60))
    )
    assert "This Excel file is too big to import" in page
    assert measure.data_points.count() == 1
