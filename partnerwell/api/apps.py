from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "partnerwell.api"
    label = "api"
    verbose_name = "API access"
