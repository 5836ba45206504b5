from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "partnerwell.delivery"
    label = "delivery"
    verbose_name = "Delivery and accountability"

    def ready(self) -> None:
        from partnerwell.core.panels import register as register_panel
        from partnerwell.core.panels import register_link as register_core_link
        from partnerwell.delivery import actions, digest
        from partnerwell.delivery.evidence import register_indicators
        from partnerwell.delivery.panels import delivery_panel
        from partnerwell.healthcheck.links import register as register_link

        # Evidence beside health-check ratings, and the delivery dashboard on the partnership page.
        register_indicators()
        from partnerwell.core import sealing
        from partnerwell.delivery.priorities import votes_seal_due

        # Closed votes' ballots, for `partnerwell seal_rounds`.
        sealing.register("priority-vote ballots", votes_seal_due)
        # The action sections of everyone's email digest.
        digest.register()
        register_panel(order=20, template="delivery/panels/delivery.html", provider=delivery_panel)
        # "Turn into an action" beside each principle and statement of a health check's results.
        register_link(actions.health_check_action_link)
        register_core_link(where="nav", label="Your actions", url_name="delivery-list-my-actions")
        register_core_link(
            where="account", label="Email digest", url_name="delivery-edit-reminders"
        )
