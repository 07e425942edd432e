"""Publish the sample catalog for a store: ``manage.py catalog_sample STORE-001``."""

from django.core.management.base import BaseCommand, CommandError

from catalog.services.sample_catalog import catalog_sample_seed
from trips.models import Store


class Command(BaseCommand):
    help = "Publish a small sample catalog (the simulator scenarios' SKUs) for a store."

    def add_arguments(self, parser):
        parser.add_argument("store_id")

    def handle(self, *args, store_id: str, **options):
        store = Store.objects.filter(store_id=store_id).first()
        if store is None:
            raise CommandError(f"no store {store_id}")
        version = catalog_sample_seed(store=store, actor="system:catalog_sample")
        self.stdout.write(f"{store_id}: v{version.number} published with the sample catalog")
