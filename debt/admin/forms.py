"""Forms for the staff actions on debts. Each is validated here and applied by one service."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django import forms

from core.clock import wall_now

from ..enums import DisputeResolutionReason, WriteOffReason


class PayoffForm(forms.Form):
    """A payment taken by phone. The key is minted when the form is shown, so a double submit
    records one payment."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=11, decimal_places=2)
    external_reference = forms.CharField(
        max_length=255, required=False, help_text="card terminal receipt or authorization number"
    )
    debts = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="leave empty to pay the oldest debts first",
    )

    def __init__(self, *args, debt_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["debts"].choices = debt_choices
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", f"staff-phone:{uuid.uuid4()}")

    def chosen_debt_ids(self) -> list[int] | None:
        chosen = self.cleaned_data.get("debts") or []
        return [int(pk) for pk in chosen] or None


class WriteOffRequestForm(forms.Form):
    amount = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=11,
        decimal_places=2,
        required=False,
        help_text="leave empty to write off everything outstanding",
    )
    reason_code = forms.ChoiceField(choices=WriteOffReason.choices)
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class DecisionNoteForm(forms.Form):
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class DisputeOpenForm(forms.Form):
    statement = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class DisputeResolveForm(forms.Form):
    upheld = forms.TypedChoiceField(
        choices=[("yes", "Upheld: not owed"), ("no", "Rejected: owed")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    reason = forms.ChoiceField(choices=DisputeResolutionReason.choices)
    reversed_amount = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=11,
        decimal_places=2,
        required=False,
        help_text="upheld in part: the amount not owed (empty: all of it)",
    )
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class PeriodForm(forms.Form):
    start = forms.DateField(required=False)
    end = forms.DateField(required=False, help_text="exclusive")

    def period(self):
        """Trips are grouped by when they reached us (wall clock); default: the last 30 days."""
        from ..metrics import Period

        today = wall_now().replace(hour=0, minute=0, second=0, microsecond=0)
        data = self.cleaned_data if self.is_valid() else {}
        start, end = data.get("start"), data.get("end")
        start_at = (
            today - timedelta(days=30)
            if start is None
            else today.replace(year=start.year, month=start.month, day=start.day)
        )
        end_at = (
            today + timedelta(days=1)
            if end is None
            else today.replace(year=end.year, month=end.month, day=end.day)
        )
        return Period(start=start_at, end=end_at)
