"""Admin forms for pricing work: preview, CSV import, publish, rollback; promotion checks."""

from django import forms

from .models import Promotion
from .services.versions import promotion_problems


class SampleCartForm(forms.Form):
    cart = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text="one item a line: SKU or scan code, then quantity and unit "
        "(e.g. <code>SKU-BANANA 0.742 kg</code>)",
    )
    members = forms.BooleanField(required=False, label="loyalty member (LOYALTY scan)")


class CsvImportForm(forms.Form):
    file = forms.FileField(
        help_text="sku,name,active,scan_codes,sale_unit,unit_price,tax_category,category"
    )


class PublishForm(forms.Form):
    effective_from = forms.DateTimeField(
        required=False, help_text="UTC; empty = now. Never in the past."
    )
    reason = forms.CharField(max_length=500, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


class PromotionForm(forms.ModelForm):
    class Meta:
        model = Promotion
        fields = [
            "version",
            "code",
            "name",
            "kind",
            "stacking",
            "priority",
            "target_product",
            "target_category",
            "reward_product",
            "reward_category",
            "percent",
            "amount",
            "quantity",
            "pay_quantity",
            "get_quantity",
            "bundle_price",
            "threshold",
            "members_only",
            "starts_at",
            "ends_at",
            "max_applications_per_cart",
            "max_uses_per_shopper",
        ]

    def clean(self):
        cleaned = super().clean()
        version = cleaned.get("version")
        if version is not None and not version.is_draft:
            raise forms.ValidationError("promotions change only in a draft version")
        if version is not None and cleaned.get("kind"):
            candidate = Promotion(**{k: v for k, v in cleaned.items() if k != "id"})
            problems = promotion_problems(candidate, version.currency)
            if problems:
                raise forms.ValidationError(problems)
        return cleaned
