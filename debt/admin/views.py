"""Staff pages behind the debt admin: phone payment, write-off request, dispute, metrics.

Each page checks its permission, validates a form, calls one service, and reports the outcome.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from core.audit import actor_for_user
from core.clock import now as business_now
from core.errors import ApplicationError, ValidationFailed

from ..enums import DisputeSource, PaymentMethod
from ..metrics import dashboard, dashboard_csv_rows
from ..models import Debt, DebtDispute
from ..selectors import payable_amount, payable_debts
from ..services.disputes import dispute_open, dispute_resolve
from ..services.recovery import debt_payoff
from ..services.write_offs import write_off_request
from .forms import (
    DisputeOpenForm,
    DisputeResolveForm,
    PayoffForm,
    PeriodForm,
    WriteOffRequestForm,
)


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _form_page(model_admin, request, *, title, form, submit_label, facts=()):
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "submit_label": submit_label,
        "facts": facts,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "debt/admin/form.html", context)


def _apply_errors(form, error: ApplicationError) -> None:
    if isinstance(error, ValidationFailed):
        for problem in error.problems:
            field = problem.field if problem.field in form.fields else None
            form.add_error(field, f"{problem.field}: {problem.problem}")
    else:
        form.add_error(None, error.message)


def _debt_url(debt) -> str:
    return reverse("admin:debt_debt_change", args=[debt.pk])


def payoff_view(model_admin, request, identity_id: str, currency: str):
    """A payment taken by phone, applied to the chosen debts or the oldest first."""
    _require(request, "debt.add_debtpayment")
    debts = list(payable_debts(identity_id=identity_id, currency=currency))
    choices = [
        (
            str(debt.pk),
            f"{debt.incurred_at:%Y-%m-%d} {debt.store.store_id} trip {debt.trip.shopping_trip_id}: "
            f"{debt.outstanding_amount + debt.written_off_amount} {debt.currency}",
        )
        for debt in debts
    ]
    form = PayoffForm(request.POST or None, debt_choices=choices)
    if request.method == "GET" and request.GET.get("debt"):
        form.initial["debts"] = [request.GET["debt"]]
    if request.method == "POST" and form.is_valid():
        try:
            payment = debt_payoff(
                identity_id=identity_id,
                currency=currency,
                amount=form.cleaned_data["amount"],
                method=PaymentMethod.STAFF_PHONE,
                idempotency_key=form.cleaned_data["idempotency_key"],
                actor=actor_for_user(request.user),
                debt_ids=form.chosen_debt_ids(),
                external_reference=form.cleaned_data["external_reference"],
            )
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Payment {payment.pk} of {payment.amount} {payment.currency} recorded and "
                "reported to Amazon.",
            )
            return HttpResponseRedirect(reverse("admin:debt_debtpayment_change", args=[payment.pk]))
    facts = [
        ("Shopper", identity_id),
        ("Owed", f"{payable_amount(identity_id=identity_id, currency=currency)} {currency}"),
    ]
    return _form_page(
        model_admin,
        request,
        title="Record a payment taken by phone",
        form=form,
        submit_label="Record payment",
        facts=facts,
    )


def write_off_request_view(model_admin, request, debt_id: int):
    _require(request, "debt.add_writeoffrequest")
    debt = get_object_or_404(Debt, pk=debt_id)
    form = WriteOffRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            write_off = write_off_request(
                debt_id=debt.pk,
                amount=form.cleaned_data["amount"],
                reason_code=form.cleaned_data["reason_code"],
                note=form.cleaned_data["note"],
                requested_by=request.user,
            )
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"Write-off request {write_off.pk} waits for another user's approval."
            )
            return HttpResponseRedirect(_debt_url(debt))
    facts = [("Debt", debt), ("Outstanding", f"{debt.outstanding_amount} {debt.currency}")]
    return _form_page(
        model_admin,
        request,
        title="Request a write-off",
        form=form,
        submit_label="Request",
        facts=facts,
    )


def dispute_open_view(model_admin, request, debt_id: int):
    _require(request, "debt.add_debtdispute")
    debt = get_object_or_404(Debt, pk=debt_id)
    form = DisputeOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute_open(
                debt_id=debt.pk,
                source=DisputeSource.STAFF,
                opened_by=actor_for_user(request.user),
                statement=form.cleaned_data["statement"],
            )
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Dispute opened.")
            return HttpResponseRedirect(_debt_url(debt))
    return _form_page(
        model_admin,
        request,
        title="Open a dispute",
        form=form,
        submit_label="Open dispute",
        facts=[("Debt", debt)],
    )


def dispute_resolve_view(model_admin, request, dispute_id: int):
    _require(request, "debt.change_debtdispute")
    dispute = get_object_or_404(DebtDispute.objects.select_related("debt"), pk=dispute_id)
    form = DisputeResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute_resolve(
                dispute_id=dispute.pk,
                upheld=form.cleaned_data["upheld"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                reversed_amount=form.cleaned_data["reversed_amount"],
                actor=actor_for_user(request.user),
            )
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Dispute resolved.")
            return HttpResponseRedirect(_debt_url(dispute.debt))
    facts = [
        ("Debt", dispute.debt),
        ("Opened by", f"{dispute.source.lower()} ({dispute.opened_at:%Y-%m-%d %H:%M})"),
        ("Statement", dispute.statement or "-"),
    ]
    return _form_page(
        model_admin,
        request,
        title="Resolve a dispute",
        form=form,
        submit_label="Record the outcome",
        facts=facts,
    )


def metrics_view(model_admin, request):
    _require(request, "debt.view_debt")
    form = PeriodForm(request.GET or None)
    board = dashboard(period=form.period(), now=business_now())
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="bad-debt-metrics.csv"'
        csv.writer(response).writerows(dashboard_csv_rows(board))
        return response
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Bad debt metrics",
        "form": form,
        "board": board,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "debt/admin/metrics.html", context)
