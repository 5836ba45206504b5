from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_builtin_frameworks(sender: AppConfig, **kwargs: Any) -> None:
    from partnerwell.healthcheck.services import frameworks_load_builtin

    frameworks_load_builtin()


class HealthcheckConfig(AppConfig):
    name = "partnerwell.healthcheck"
    label = "healthcheck"
    verbose_name = "Health checks"

    def ready(self) -> None:
        # Every migrate brings the built-in frameworks in line with frameworks/*.yaml.
        post_migrate.connect(_load_builtin_frameworks, sender=self)
        from partnerwell.core.panels import register
        from partnerwell.healthcheck.panel import health_check_panel

        register(order=10, template="healthcheck/panel.html", provider=health_check_panel)
        from partnerwell.core import sealing
        from partnerwell.healthcheck.services import rounds_seal_due

        # Closed rounds' held answers, for `partnerwell seal_rounds`.
        sealing.register("health-check answers", rounds_seal_due)
