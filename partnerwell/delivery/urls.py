"""Delivery URLs, one list per area so each area's views stay in their own module."""

from partnerwell.delivery.views import actions, outcomes, priorities, risks

urlpatterns = [
    *actions.urlpatterns,
    *priorities.urlpatterns,
    *outcomes.urlpatterns,
    *risks.urlpatterns,
]
