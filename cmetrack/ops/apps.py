from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "cmetrack.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from cmetrack.ops.logs import connect_request_log_signals

        connect_request_log_signals()
