"""Barcode checks: UPC-A, EAN-13 and EAN-8 carry a GS1 check digit; other codes are opaque."""

from .enums import ScanCodeKind

_LENGTHS = {ScanCodeKind.UPC_A: 12, ScanCodeKind.EAN_13: 13, ScanCodeKind.EAN_8: 8}


def gs1_check_digit_ok(digits: str) -> bool:
    """The GS1 mod-10 check: weights 3,1,3,... from the rightmost data digit."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def scan_code_kind_for(code: str) -> str:
    """The kind a code looks like: 12 digits UPC-A, 13 EAN-13, 8 EAN-8, else OTHER."""
    if code.isascii() and code.isdigit():
        for kind, length in _LENGTHS.items():
            if len(code) == length:
                return kind
    return ScanCodeKind.OTHER


def scan_code_problem(code: str, kind: str) -> str | None:
    """Why ``code`` is not a valid code of ``kind``, or ``None``."""
    if not code or not code.strip() or len(code) > 255:
        return "a scan code has 1 to 255 characters"
    length = _LENGTHS.get(kind)
    if length is None:
        return None
    if not (code.isascii() and code.isdigit()) or len(code) != length:
        return f"{kind} codes have exactly {length} digits"
    if not gs1_check_digit_ok(code):
        return "the check digit is wrong"
    return None
