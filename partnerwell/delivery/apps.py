from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "partnerwell.delivery"
    label = "delivery"
    verbose_name = "Delivery and accountability"
