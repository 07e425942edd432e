"""Catalog admin: products and scan codes; price versions with their prices, tax rates and
promotions, editable only while a draft; preview, publish, roll back, CSV import and export.
Every action calls a service; nothing here decides a price."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from core.audit import actor_for_user
from core.errors import ApplicationError

from .enums import VersionStatus
from .forms import CsvImportForm, PromotionForm, PublishForm, ReasonForm, SampleCartForm
from .models import (
    Category,
    PriceVersion,
    Product,
    ProductPrice,
    Promotion,
    ScanCode,
    TaxCategory,
    TaxRate,
)
from .services.catalog_csv import CsvImportRejected, catalog_csv_export, catalog_csv_import
from .services.preview import price_version_preview, sample_cart_parse
from .services.versions import (
    PublishRefused,
    ensure_draft,
    price_version_create_draft,
    price_version_discard,
    price_version_publish,
    price_version_rollback,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(TaxCategory)
class TaxCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


class ScanCodeInline(admin.TabularInline):
    model = ScanCode
    extra = 1
    fields = ("code", "kind")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "active", "updated_at")
    list_filter = ("active",)
    search_fields = ("sku", "name", "scan_codes__code")
    inlines = [ScanCodeInline]

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: purchases and versions refer to products


class DraftOnlyMixin:
    """Rows of a published version are history: readable, never editable."""

    def _draft(self, obj) -> bool:
        return obj is None or obj.version.status == VersionStatus.DRAFT

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._draft(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._draft(obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            kwargs["queryset"] = PriceVersion.objects.filter(status=VersionStatus.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ProductPrice)
class ProductPriceAdmin(DraftOnlyMixin, admin.ModelAdmin):
    list_display = ("product", "version", "sale_unit", "unit_price", "currency", "tax_category")
    list_filter = ("version__store", "version__status", "sale_unit", "tax_category")
    list_select_related = ("product", "version__store", "tax_category")
    search_fields = ("product__sku", "product__name")
    autocomplete_fields = ("product",)
    fields = ("version", "product", "sale_unit", "unit_price", "tax_category", "category")

    def save_model(self, request, obj, form, change):
        ensure_draft(obj.version)
        obj.currency = obj.version.currency
        super().save_model(request, obj, form, change)


@admin.register(Promotion)
class PromotionAdmin(DraftOnlyMixin, admin.ModelAdmin):
    form = PromotionForm
    list_display = (
        "code",
        "name",
        "kind",
        "stacking",
        "priority",
        "version",
        "starts_at",
        "ends_at",
    )
    list_filter = ("version__store", "version__status", "kind", "stacking")
    list_select_related = ("version__store",)
    search_fields = ("code", "name")
    autocomplete_fields = ("target_product", "reward_product")


class TaxRateInline(admin.TabularInline):
    model = TaxRate
    extra = 0
    fields = ("tax_category", "rate_percent")

    def _draft(self, obj):
        return obj is None or obj.status == VersionStatus.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


@admin.register(PriceVersion)
class PriceVersionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "status",
        "effective_from",
        "author",
        "reason",
        "published_by",
        "tools",
    )
    list_filter = ("status", "store")
    list_select_related = ("store",)
    search_fields = ("reason", "author", "store__store_id")
    actions = ["create_draft_from", "publish_now", "discard_drafts"]

    # --- forms -------------------------------------------------------------------------------
    def get_fields(self, request, obj=None):
        if obj is None:
            return ("store", "based_on", "reason")
        return (
            "store",
            "number",
            "status",
            "currency",
            "prices_include_tax",
            "tax_rounding",
            "based_on",
            "reason",
            "author",
            "created_at",
            "published_by",
            "published_at",
            "effective_from",
            "tools",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        editable = {"prices_include_tax", "tax_rounding"} if obj.is_draft else set()
        return tuple(name for name in self.get_fields(request, obj) if name not in editable)

    def get_inlines(self, request, obj):
        return [TaxRateInline] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        actor = actor_for_user(request.user)
        if change:
            ensure_draft(PriceVersion.objects.get(pk=obj.pk))
            obj.save(update_fields=["prices_include_tax", "tax_rounding"])
            return
        created = price_version_create_draft(
            store=obj.store, actor=actor, reason=obj.reason, based_on=obj.based_on
        )
        for field in PriceVersion._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    @admin.display(description="tools")
    def tools(self, version):
        links = [
            (
                "prices",
                reverse("admin:catalog_productprice_changelist")
                + f"?version__id__exact={version.pk}",
            ),
            (
                "promotions",
                reverse("admin:catalog_promotion_changelist") + f"?version__id__exact={version.pk}",
            ),
            ("preview", reverse("admin:catalog_priceversion_preview", args=[version.pk])),
            ("export CSV", reverse("admin:catalog_priceversion_export", args=[version.pk])),
        ]
        if version.is_draft:
            links.append(
                ("import CSV", reverse("admin:catalog_priceversion_import", args=[version.pk]))
            )
            links.append(
                ("publish", reverse("admin:catalog_priceversion_publish", args=[version.pk]))
            )
        elif version.status == VersionStatus.PUBLISHED:
            links.append(
                (
                    "roll back to this",
                    reverse("admin:catalog_priceversion_rollback", args=[version.pk]),
                )
            )
        return format_html_join(
            " · ", '<a href="{}">{}</a>', ((url, label) for label, url in links)
        )

    # --- actions -------------------------------------------------------------------------------
    @admin.action(description="Create a draft from the selected version", permissions=["add"])
    def create_draft_from(self, request, queryset):
        for version in queryset.select_related("store"):
            draft = price_version_create_draft(
                store=version.store,
                actor=actor_for_user(request.user),
                reason=f"draft from v{version.number}",
                based_on=version,
            )
            self.message_user(request, f"Draft v{draft.number} created from v{version.number}.")

    @admin.action(description="Publish the selected drafts now", permissions=["change"])
    def publish_now(self, request, queryset):
        for version in queryset.filter(status=VersionStatus.DRAFT):
            try:
                price_version_publish(version=version, actor=actor_for_user(request.user))
                self.message_user(request, f"v{version.number} is live.", messages.SUCCESS)
            except ApplicationError as error:
                self._report(request, version, error)

    @admin.action(description="Discard the selected drafts", permissions=["change"])
    def discard_drafts(self, request, queryset):
        for version in queryset.filter(status=VersionStatus.DRAFT):
            price_version_discard(version=version, actor=actor_for_user(request.user))
        self.message_user(request, "Drafts discarded.")

    def _report(self, request, version, error):
        problems = getattr(error, "problems", None) or [error.message]
        for problem in problems:
            self.message_user(request, f"v{version.number}: {problem}", messages.ERROR)

    # --- views -----------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", view(self.preview_view), name="catalog_priceversion_preview"),
            path("<int:pk>/publish/", view(self.publish_view), name="catalog_priceversion_publish"),
            path(
                "<int:pk>/rollback/", view(self.rollback_view), name="catalog_priceversion_rollback"
            ),
            path("<int:pk>/import/", view(self.import_view), name="catalog_priceversion_import"),
            path("<int:pk>/export/", view(self.export_view), name="catalog_priceversion_export"),
            *super().get_urls(),
        ]

    def _version(self, request, pk, *, change: bool) -> PriceVersion:
        version = get_object_or_404(PriceVersion.objects.select_related("store"), pk=pk)
        allowed = (
            self.has_change_permission(request) if change else self.has_view_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        return version

    def _render(self, request, version, template, **context):
        return TemplateResponse(
            request,
            f"admin/catalog/priceversion/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "version": version,
                **context,
            },
        )

    def preview_view(self, request, pk):
        version = self._version(request, pk, change=False)
        form = SampleCartForm(request.POST if request.method == "POST" else None)
        preview = None
        if request.method == "POST" and form.is_valid():
            try:
                items = sample_cart_parse(form.cleaned_data["cart"])
                preview = price_version_preview(
                    version=version, items=items, members=form.cleaned_data["members"]
                )
            except ApplicationError as error:
                form.add_error("cart", error.message)
        return self._render(
            request, version, "preview.html", form=form, preview=preview, title=f"Preview {version}"
        )

    def publish_view(self, request, pk):
        version = self._version(request, pk, change=True)
        form = PublishForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                price_version_publish(
                    version=version,
                    actor=actor_for_user(request.user),
                    effective_from=form.cleaned_data["effective_from"],
                    reason=form.cleaned_data["reason"],
                )
                self.message_user(request, f"v{version.number} published.", messages.SUCCESS)
                return redirect("admin:catalog_priceversion_change", version.pk)
            except PublishRefused as refused:
                for problem in refused.problems:
                    form.add_error(None, problem)
            except ApplicationError as error:
                form.add_error(None, error.message)
        return self._render(
            request, version, "form.html", form=form, title=f"Publish {version}", button="Publish"
        )

    def rollback_view(self, request, pk):
        version = self._version(request, pk, change=True)
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                rolled = price_version_rollback(
                    to_version=version,
                    actor=actor_for_user(request.user),
                    reason=form.cleaned_data["reason"],
                )
                self.message_user(
                    request,
                    f"v{rolled.number} (a copy of v{version.number}) is live.",
                    messages.SUCCESS,
                )
                return redirect("admin:catalog_priceversion_change", rolled.pk)
            except ApplicationError as error:
                form.add_error(None, error.message)
        return self._render(
            request,
            version,
            "form.html",
            form=form,
            title=f"Roll back to {version}",
            button="Roll back",
        )

    def import_view(self, request, pk):
        version = self._version(request, pk, change=True)
        form = CsvImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                report = catalog_csv_import(
                    version=version, text=text, actor=actor_for_user(request.user)
                )
            except UnicodeDecodeError:
                form.add_error("file", "the file is not UTF-8 text")
            except CsvImportRejected as rejected:
                for problem in rejected.errors[:200]:
                    form.add_error(None, problem)
            except ApplicationError as error:
                form.add_error(None, error.message)
        return self._render(
            request,
            version,
            "import.html",
            form=form,
            report=report,
            title=f"Import CSV into {version}",
        )

    def export_view(self, request, pk):
        version = self._version(request, pk, change=False)
        response = HttpResponse(
            catalog_csv_export(version=version), content_type="text/csv; charset=utf-8"
        )
        filename = f"catalog-{version.store.store_id}-v{version.number}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
