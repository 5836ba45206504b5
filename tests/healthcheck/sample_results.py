"""A results dict written out by hand, shaped like round_results() returns it.

The chart and export tests need no database: they only read this dict. Each
call returns a fresh copy, so a test may change it freely.
"""

from __future__ import annotations

from typing import Any

AGREEMENT_LABELS = [
    (1, "Strongly disagree"),
    (2, "Disagree"),
    (3, "Neither agree nor disagree"),
    (4, "Agree"),
    (5, "Strongly agree"),
]


def distribution(*counts: int, dont_know: int = 0) -> list[dict[str, Any]]:
    dist: list[dict[str, Any]] = [
        {"answer": a, "label": label, "count": c}
        for (a, label), c in zip(AGREEMENT_LABELS, counts, strict=True)
    ]
    dist.append({"answer": None, "label": "Don't know", "count": dont_know})
    return dist


def statement(
    id: int,
    key: str,
    text: str,
    score: float | None,
    band: str | None,
    counts: tuple[int, int, int, int, int],
    *,
    dont_know: int = 0,
    disputed: bool = False,
    reverse: bool = False,
) -> dict[str, Any]:
    return {
        "id": id,
        "key": key,
        "text": text,
        "scale": "agreement",
        "reverse": reverse,
        "n": sum(counts),
        "dont_know": dont_know,
        "score": score,
        "band": band,
        "spread": None if score is None else 21.4,
        "agreement": None if score is None else (38.0 if disputed else 71.5),
        "disputed": disputed,
        "distribution": distribution(*counts, dont_know=dont_know),
    }


def make_results() -> dict[str, Any]:
    return {
        "round": {
            "id": 7,
            "title": "Spring 2025 health check",
            "framework": {
                "key": "partnership-health",
                "version": 2,
                "title": "Partnership health",
            },
            "status": "closed",
            "invited": 24,
            "responded": 17,
        },
        "anonymity_floor": 5,
        "suppressed": False,
        "overall": {"score": 61.3, "band": "developing"},
        "areas": [
            {
                "key": "purpose",
                "title": "Shared purpose",
                "score": 72.9,
                "band": "developing",
                "principles": [
                    {
                        "key": "vision",
                        "title": "A shared vision",
                        "score": 81.3,
                        "band": "strength",
                        "spread": 15.2,
                        "agreement": 78.0,
                        "disputed": False,
                        "evidence_keys": [],
                        "statements": [
                            statement(
                                1,
                                "vision-1",
                                "We agree what we are for.",
                                81.3,
                                "strength",
                                (0, 1, 2, 8, 6),
                                dont_know=1,
                            ),
                        ],
                    },
                    {
                        "key": "priorities",
                        "title": "Agreed priorities",
                        "score": 64.5,
                        "band": "developing",
                        "spread": 30.1,
                        "agreement": 41.0,
                        "disputed": True,
                        "evidence_keys": [],
                        "statements": [
                            statement(
                                2,
                                "priorities-1",
                                "Our priorities are written down.",
                                64.5,
                                "developing",
                                (2, 3, 2, 6, 4),
                                disputed=True,
                            ),
                            statement(
                                3,
                                "priorities-2",
                                "Partners pull in different directions.",
                                None,
                                None,
                                (0, 0, 0, 0, 0),
                                dont_know=3,
                                reverse=True,
                            ),
                        ],
                    },
                ],
            },
            {
                "key": "trust",
                "title": "Trust & relationships",
                "score": 41.6,
                "band": "concern",
                "principles": [
                    {
                        "key": "honesty",
                        "title": "Honest conversations",
                        "score": 41.6,
                        "band": "concern",
                        "spread": 24.0,
                        "agreement": 55.0,
                        "disputed": False,
                        "evidence_keys": [],
                        "statements": [
                            statement(
                                4,
                                "honesty-1",
                                "We can disagree without falling out.",
                                41.6,
                                "concern",
                                (3, 6, 4, 3, 1),
                            ),
                        ],
                    },
                ],
            },
        ],
        "groups": [
            {
                "by": "side",
                "name": "Commissioners",
                "n": 9,
                "suppressed": False,
                "overall": {"score": 66.0, "band": "developing"},
                "principles": [
                    {"key": "vision", "score": 85.0},
                    {"key": "priorities", "score": 70.2},
                    {"key": "honesty", "score": 52.5},
                ],
            },
            {
                "by": "side",
                "name": "Providers",
                "n": 6,
                "suppressed": False,
                "overall": {"score": 55.1, "band": "developing"},
                "principles": [
                    {"key": "vision", "score": 77.5},
                    {"key": "priorities", "score": 58.3},
                    {"key": "honesty", "score": 29.2},
                ],
            },
            {
                "by": "side",
                "name": "Secret Small Side",
                "n": None,
                "suppressed": True,
                "overall": None,
                "principles": [
                    {"key": "vision", "score": None},
                    {"key": "priorities", "score": None},
                    {"key": "honesty", "score": None},
                ],
            },
            {
                "by": "organisation",
                "name": "Testshire Council",
                "n": 8,
                "suppressed": False,
                "overall": {"score": 63.0, "band": "developing"},
                "principles": [
                    {"key": "vision", "score": 80.0},
                    {"key": "priorities", "score": None},
                    {"key": "honesty", "score": 45.0},
                ],
            },
            {
                "by": "organisation",
                "name": "Tiny Charity",
                "n": None,
                "suppressed": True,
                "overall": None,
                "principles": [
                    {"key": "vision", "score": None},
                    {"key": "priorities", "score": None},
                    {"key": "honesty", "score": None},
                ],
            },
        ],
        "gaps": [
            {
                "by": "side",
                "principle": "honesty",
                "principle_title": "Honest conversations",
                "groups": ["Commissioners", "Providers"],
                "difference": 23.3,
                "p_value": 0.0031,
                "beyond_noise": True,
            },
        ],
        "change": {
            "previous_round": {
                "id": 3,
                "title": "Autumn 2024 health check",
                "framework_version": 1,
            },
            "principles": [
                {
                    "key": "vision",
                    "title": "A shared vision",
                    "previous_score": 70.0,
                    "difference": 11.3,
                    "p_value": 0.0042,
                    "beyond_noise": True,
                },
                {
                    "key": "honesty",
                    "title": "Honest conversations",
                    "previous_score": 45.0,
                    "difference": -3.4,
                    "p_value": 0.61,
                    "beyond_noise": False,
                },
            ],
        },
        "comments": [
            {
                "area": "purpose",
                "title": "Shared purpose",
                "comments": [
                    "Clearer than last year.",
                    '=HYPERLINK("http://evil.example", "click")',
                ],
            },
            {
                "area": "trust",
                "title": "Trust & relationships",
                "comments": ["<script>alert(1)</script> meetings feel tense"],
            },
        ],
    }
