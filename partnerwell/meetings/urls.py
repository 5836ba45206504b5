"""Meeting URLs, one list per area so each area's views stay in their own module."""

from partnerwell.meetings.views import (
    agenda,
    attendance,
    calendar,
    meetings,
    minutes,
    papers,
    review,
)

urlpatterns = [
    *meetings.urlpatterns,
    *agenda.urlpatterns,
    *papers.urlpatterns,
    *calendar.urlpatterns,
    *attendance.urlpatterns,
    *minutes.urlpatterns,
    *review.urlpatterns,
]
