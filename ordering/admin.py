"""Ordering admin: received carts and priced purchases (read-only history), and the bad-cart
queue where staff decide each problem line and then price and settle the cart. Every action
calls a service in ordering.services.bad_cart."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Product
from core.admin import ReadOnlyAdmin
from core.audit import actor_for_user
from core.errors import ApplicationError

from .enums import PROBLEM_LINE_STATUSES, BadCartStatus, LineResolution
from .forms import LineDecisionForm
from .models import BadCartCase, CartSubmission, LineDiscount, Purchase, PurchaseLine
from .services.bad_cart import bad_cart_finish, bad_cart_line_resolve, bad_cart_preview

LINE_FIELDS = (
    "position",
    "line_item_id",
    "item_id",
    "item_type",
    "quantity_value",
    "quantity_unit",
    "product",
    "status",
    "resolution",
    "unit_price",
    "gross",
    "discount_total",
    "tax",
    "total",
)


@admin.register(CartSubmission)
class CartSubmissionAdmin(ReadOnlyAdmin):
    list_display = ("shopping_trip_id", "store", "received_at", "response_status", "request_id")
    list_filter = ("store",)
    list_select_related = ("store",)
    search_fields = ("shopping_trip_id", "request_id")
    exclude = ("response_body",)
    readonly_fields = ("answer",)

    @admin.display(description="answer sent (201 body)")
    def answer(self, submission):
        return bytes(submission.response_body).decode("utf-8")


class PurchaseLineInline(admin.TabularInline):
    model = PurchaseLine
    extra = 0
    can_delete = False
    fields = (*LINE_FIELDS, "discounts_given")
    readonly_fields = fields

    @admin.display(description="discounts")
    def discounts_given(self, line):
        return format_html_join(
            "", "<div>{} −{}</div>", ((d.promotion_code, d.amount) for d in line.discounts.all())
        )

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product").prefetch_related("discounts")


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ("purchase_id", "store", "status", "total", "currency", "created_at")
    list_filter = ("status", "store")
    list_select_related = ("store",)
    search_fields = ("purchase_id", "trip__shopping_trip_id")
    date_hierarchy = "created_at"
    inlines = [PurchaseLineInline]


@admin.register(LineDiscount)
class LineDiscountAdmin(ReadOnlyAdmin):
    list_display = ("promotion_code", "amount", "line")
    search_fields = ("promotion_code", "line__purchase__purchase_id")
    list_select_related = ("line__purchase",)


@admin.register(BadCartCase)
class BadCartCaseAdmin(ReadOnlyAdmin):
    """The queue: open cases first, the nearest settle-by time on top."""

    list_display = ("purchase", "store", "status", "problem_lines", "opened_at", "settle_by")
    list_filter = ("status", "store")
    list_select_related = ("purchase", "store")
    ordering = ("status", "settle_by")
    actions = ["price_and_settle"]
    fields = (
        "purchase",
        "store",
        "status",
        "opened_at",
        "settle_by",
        "closed_at",
        "closed_by",
        "outcome",
        "lines",
        "would_cost",
    )
    readonly_fields = fields

    def has_settle_permission(self, request):
        return request.user.has_perm("ordering.change_badcartcase")

    @admin.display(description="lines")
    def lines(self, case):
        rows = []
        for line in case.purchase.lines.order_by("position").select_related("product"):
            decide = ""
            if case.status == BadCartStatus.OPEN and (
                line.status in PROBLEM_LINE_STATUSES or line.resolution
            ):
                url = reverse("admin:ordering_badcartcase_decide", args=[case.pk, line.pk])
                decide = format_html('<a href="{}">decide</a>', url)
            rows.append(
                (
                    line.item_id,
                    f"{line.quantity_value} {line.quantity_unit}",
                    line.get_status_display(),
                    line.get_resolution_display() if line.resolution else "",
                    line.total if line.total is not None else "",
                    decide,
                )
            )
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows
        )
        return format_html(
            "<table><tr><th>item</th><th>quantity</th><th>status</th><th>decision</th>"
            "<th>total</th><th></th></tr>{}</table>",
            body,
        )

    @admin.display(description="would cost now")
    def would_cost(self, case):
        if case.status != BadCartStatus.OPEN:
            return "-"
        result = bad_cart_preview(case=case).result
        waiting = ", ".join(result.unresolved_keys) or "none"
        url = reverse("admin:ordering_badcartcase_settle", args=[case.pk])
        return format_html(
            '{} {} (lines still unpriced: {}) · <a href="{}">price and settle</a>',
            result.total,
            result.currency,
            waiting,
            url,
        )

    @admin.action(description="Price and settle the selected carts", permissions=["settle"])
    def price_and_settle(self, request, queryset):
        for case in queryset.filter(status=BadCartStatus.OPEN):
            try:
                bad_cart_finish(case_pk=case.pk, actor=actor_for_user(request.user))
                self.message_user(request, f"{case.purchase_id}: priced and settled.")
            except ApplicationError as error:
                self.message_user(request, f"{case.purchase_id}: {error.message}", messages.ERROR)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/line/<int:line_pk>/decide/",
                view(self.decide_view),
                name="ordering_badcartcase_decide",
            ),
            path("<int:pk>/settle/", view(self.settle_view), name="ordering_badcartcase_settle"),
            *super().get_urls(),
        ]

    def _case(self, request, pk) -> BadCartCase:
        if not self.has_settle_permission(request):
            raise PermissionDenied
        return get_object_or_404(BadCartCase.objects.select_related("purchase", "store"), pk=pk)

    def _render(self, request, case, template, **context):
        return TemplateResponse(
            request,
            f"admin/ordering/badcartcase/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "case": case,
                **context,
            },
        )

    def decide_view(self, request, pk, line_pk):
        case = self._case(request, pk)
        line = get_object_or_404(PurchaseLine, pk=line_pk, purchase_id=case.purchase_id)
        form = LineDecisionForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            product = None
            if data["resolution"] == LineResolution.MAPPED:
                code = data["product"].strip()
                product = Product.objects.filter(Q(sku=code) | Q(scan_codes__code=code)).first()
                if product is None:
                    form.add_error("product", "no product has this SKU or scan code")
            if form.is_valid():
                try:
                    bad_cart_line_resolve(
                        line_pk=line.pk,
                        actor=actor_for_user(request.user),
                        resolution=data["resolution"],
                        product=product,
                        amount=data["amount"],
                        tax_category=data["tax_category"].code if data["tax_category"] else "",
                        note=data["note"],
                    )
                    self.message_user(request, f"Line {line.item_id}: decision recorded.")
                    return redirect("admin:ordering_badcartcase_change", case.pk)
                except ApplicationError as error:
                    form.add_error(None, error.message)
        return self._render(
            request, case, "decide.html", form=form, line=line, title="Decide a line"
        )

    def settle_view(self, request, pk):
        case = self._case(request, pk)
        preview = bad_cart_preview(case=case) if case.status == BadCartStatus.OPEN else None
        error = None
        if request.method == "POST":
            try:
                bad_cart_finish(case_pk=case.pk, actor=actor_for_user(request.user))
                self.message_user(
                    request, f"{case.purchase_id}: priced and settled.", messages.SUCCESS
                )
                return redirect("admin:ordering_badcartcase_change", case.pk)
            except ApplicationError as failure:
                error = failure.message
        return self._render(
            request, case, "settle.html", preview=preview, error=error, title="Price and settle"
        )
