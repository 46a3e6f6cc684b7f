"""Payment providers."""


class PaymentError(Exception):
    pass


def charge(cents: int, method: str = "card") -> str:
    """Charge ``cents`` with ``method``; returns a receipt id."""
    if cents <= 0:
        raise PaymentError("nothing to charge")
    if method == "card":
        return _card(cents)
    if method == "invoice":
        return _invoice(cents)
    raise PaymentError(f"unknown method {method}")


def _card(cents: int) -> str:
    return f"card-{cents}"


def _invoice(cents: int) -> str:
    return f"inv-{cents}"
