"""The delivery part of the demo: each area adds its own records, idempotently."""

from partnerwell.delivery.demo import actions_demo, measures_demo, risks_demo


def load_demo() -> None:
    # Order matters: wins link to outcomes; actions come from risks, issues, priorities
    # and health checks, and turn the curve on measures.
    measures_demo.load()
    risks_demo.load()
    actions_demo.load()
