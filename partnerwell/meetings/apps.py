from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "partnerwell.meetings"
    label = "meetings"
    verbose_name = "Meetings"

    def ready(self) -> None:
        from partnerwell.meetings import registrations

        # Evidence indicators, the partnership-page panel, navigation links and digest sections.
        registrations.register_all()
