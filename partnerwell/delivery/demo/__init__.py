"""The delivery part of the demo: each area adds its own records, idempotently."""

from partnerwell.delivery.demo import actions_demo, measures_demo, risks_demo


def load_demo() -> None:
    # Order matters: actions can come from risks, issues, priorities and health checks.
    risks_demo.load()
    measures_demo.load()
    actions_demo.load()
