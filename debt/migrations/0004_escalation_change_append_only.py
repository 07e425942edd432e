from django.db import migrations

from core.append_only import append_only_table


class Migration(migrations.Migration):
    dependencies = [("debt", "0003_workflows_escalation_notices_checks")]

    operations = [append_only_table("debt_escalationchange")]
