"""Admin forms of the bad-cart queue."""

from django import forms

from catalog.models import TaxCategory

from .enums import LineResolution


class LineDecisionForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=[
            (LineResolution.MAPPED, "It is this product"),
            (LineResolution.MANUAL, "Price it by hand"),
            (LineResolution.DROPPED, "Drop it (do not charge)"),
        ],
        widget=forms.RadioSelect,
    )
    product = forms.CharField(
        required=False, max_length=255, help_text="SKU or scan code of the product (to map)"
    )
    amount = forms.DecimalField(
        required=False, min_value=0, max_digits=11, decimal_places=2, help_text="the line's amount"
    )
    tax_category = forms.ModelChoiceField(
        queryset=TaxCategory.objects.all(), required=False, to_field_name="code"
    )
    note = forms.CharField(required=False, max_length=300)
