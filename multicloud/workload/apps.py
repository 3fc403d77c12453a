from django.apps import AppConfig


class WorkloadConfig(AppConfig):
    name = "multicloud.workload"
    label = "workload"
    verbose_name = "Heat workloads (infra_workload)"
    default_auto_field = "django.db.models.BigAutoField"
