from django.db import migrations

from core.append_only import append_only_table


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [append_only_table("payments_amazoncall")]
