from django.apps import AppConfig


class RegistersConfig(AppConfig):
    name = "cmetrack.registers"
    label = "registers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Put the home-education list among the registers the matching engine searches."""
        from cmetrack.matching.adapters import ADAPTERS

        from .adapters import HomeEducationAdapter

        if not any(a.name == HomeEducationAdapter.name for a in ADAPTERS):
            ADAPTERS.append(HomeEducationAdapter())
