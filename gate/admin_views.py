"""The policy workflow pages of the admin: new draft, publish, one-click rollback, dry run.

Each view checks the permission, parses its form, calls one service, and renders or redirects.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.audit import actor_for_user

from .forms import DryRunForm, NewDraftForm, PublishForm
from .models import PolicyVersion
from .services.policies import (
    PolicyInvalid,
    VersionNotDraft,
    policy_draft_create,
    policy_dry_run,
    policy_rollback,
    policy_version_problems,
    policy_version_publish,
    policy_version_warnings,
)

CHANGE_PERMISSION = "gate.change_policyversion"


def _change_url(version: PolicyVersion) -> str:
    return reverse("admin:gate_policyversion_change", args=[version.pk])


def _context(model_admin, request, title: str, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        **extra,
    }


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def new_draft_view(model_admin, request):
    _require(request, "gate.add_policyversion")
    form = NewDraftForm(request.POST or None, initial={"store": request.GET.get("store")})
    if request.method == "POST" and form.is_valid():
        draft = policy_draft_create(
            store=form.cleaned_data["store"],
            actor=actor_for_user(request.user),
            reason=form.cleaned_data["reason"],
            based_on=form.cleaned_data["based_on"],
        )
        messages.success(request, f"Draft v{draft.number} created: edit its rules, then publish.")
        return redirect(_change_url(draft))
    context = _context(model_admin, request, "New draft gate policy", form=form, submit="Create")
    return TemplateResponse(request, "admin/gate/form_page.html", context)


def publish_view(model_admin, request, pk):
    _require(request, CHANGE_PERMISSION)
    version = get_object_or_404(PolicyVersion.objects.select_related("store"), pk=pk)
    form = PublishForm(request.POST or None, initial={"reason": version.reason})
    if request.method == "POST" and form.is_valid():
        try:
            policy_version_publish(
                version=version,
                actor=actor_for_user(request.user),
                reason=form.cleaned_data["reason"],
            )
        except (PolicyInvalid, VersionNotDraft) as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                f"v{version.number} is now the active gate policy of {version.store.store_id}; "
                "it decides the next gate event.",
            )
            return redirect(_change_url(version))
    context = _context(
        model_admin,
        request,
        f"Publish {version}",
        form=form,
        submit="Publish",
        problems=policy_version_problems(version),
        warnings=policy_version_warnings(version),
        version=version,
    )
    return TemplateResponse(request, "admin/gate/form_page.html", context)


def rollback_view(model_admin, request, pk):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _require(request, CHANGE_PERMISSION)
    version = get_object_or_404(PolicyVersion.objects.select_related("store"), pk=pk)
    try:
        new_version = policy_rollback(to_version=version, actor=actor_for_user(request.user))
    except VersionNotDraft as error:
        messages.error(request, str(error))
        return redirect(_change_url(version))
    messages.success(
        request,
        f"Rolled back: v{new_version.number} (a copy of v{version.number}) is now active.",
    )
    return redirect(_change_url(new_version))


def dry_run_view(model_admin, request, pk):
    _require(request, "gate.view_policyversion")
    version = get_object_or_404(PolicyVersion.objects.select_related("store"), pk=pk)
    form = DryRunForm(request.GET or None)
    report = None
    if form.is_valid():
        report = policy_dry_run(version=version, limit=form.cleaned_data["limit"])
    context = _context(
        model_admin, request, f"Dry run of {version}", form=form, report=report, version=version
    )
    return TemplateResponse(request, "admin/gate/dry_run.html", context)
