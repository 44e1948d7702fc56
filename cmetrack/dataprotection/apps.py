from django.apps import AppConfig


class DataProtectionConfig(AppConfig):
    name = "cmetrack.dataprotection"
    label = "dataprotection"
    verbose_name = "Data protection"
