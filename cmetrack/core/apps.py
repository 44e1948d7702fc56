from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "cmetrack.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug every app into the seams of the layers below it, from this one place (the
        pattern of ``admin.autodiscover``), instead of an import in each app's ``ready()``:

        - ``signals``: the app's receivers (audit's sign-in receivers, the jobs app's
          schedule sync and worker watch, ops' request logs);
        - ``checks``: the app's system checks (registered with ``@register``);
        - ``jobs``: the app's schedules (``register_schedule`` at the foot of the module);
        - ``extensions``: what the app adds to the engines below it: the case engine's
          registries (``cases/registries.py``), the matching engine's registers, the
          background import queue's importers;
        - ``home``: the app's sections of each role's home page (``cases/home.py``).

        Runs once every app's models are loaded; an app without the module is skipped."""
        autodiscover_modules("signals", "checks", "jobs", "extensions", "home")
