"""Admin forms of the gate: rule editing with checkboxes for Amazon's vocabularies, and the small
forms of the policy workflow (new draft, publish, dry run)."""

from django import forms

from debt.enums import EscalationLevel
from trips.models import Store

from .enums import GateEventType, InteractionType, ShopperRisk
from .models import PolicyRule, PolicyVersion
from .services.policies import DRY_RUN_DEFAULT, DRY_RUN_MAX


def _choices_field(choices, label: str) -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        choices=choices, required=False, widget=forms.CheckboxSelectMultiple, label=label
    )


class PolicyRuleForm(forms.ModelForm):
    risks_any = _choices_field(ShopperRisk.choices, "Amazon shopperRisks (any of)")
    event_types = _choices_field(GateEventType.choices, "Authentication event types")
    interaction_types = _choices_field(InteractionType.choices, "Interaction types")
    escalation_levels = _choices_field(EscalationLevel.choices, "Escalation levels")
    deny_risks = _choices_field(ShopperRisk.choices, "shopperRisks sent with a denial")

    class Meta:
        model = PolicyRule
        fields = (
            "position",
            "name",
            "enabled",
            "recommendation",
            "risks_any",
            "no_risks",
            "event_types",
            "interaction_types",
            "balance",
            "min_outstanding",
            "max_outstanding",
            "min_balance_age_hours",
            "max_balance_age_hours",
            "min_unpaid_trips",
            "escalation_levels",
            "identity_list",
            "cart_hint",
            "min_cart_total",
            "max_cart_total",
            "action",
            "adjust_amount",
            "adjust_add_outstanding",
            "deny_reason",
            "deny_risks",
        )

    def clean(self):
        data = super().clean()
        for name in ("risks_any", "event_types", "interaction_types", "escalation_levels"):
            data[name] = list(data.get(name) or [])
        data["deny_risks"] = list(data.get("deny_risks") or [])
        return data


class NewDraftForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.order_by("store_id"))
    based_on = forms.ModelChoiceField(
        queryset=PolicyVersion.objects.select_related("store").order_by("store", "-number"),
        required=False,
        help_text="blank: the store's active version (or the built-in default)",
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        based_on, store = data.get("based_on"), data.get("store")
        if based_on is not None and store is not None and based_on.store_id != store.pk:
            raise forms.ValidationError("The version to copy belongs to another store.")
        return data


class PublishForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this change: kept with the version and in the audit trail.",
    )


class DryRunForm(forms.Form):
    limit = forms.IntegerField(min_value=1, max_value=DRY_RUN_MAX, initial=DRY_RUN_DEFAULT)
