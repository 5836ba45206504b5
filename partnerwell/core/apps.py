from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "partnerwell.core"
    label = "core"
    verbose_name = "Partnerships and members"
