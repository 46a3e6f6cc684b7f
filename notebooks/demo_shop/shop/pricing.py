"""Discount rules. Imports the cart module back for its type: an import cycle on purpose."""

from shop import cart


def discount_rate(items: int, subtotal: int) -> float:
    """The discount for a cart of ``items`` items worth ``subtotal`` cents."""
    if items >= 10:
        return 0.15
    elif items >= 5:
        return 0.1
    elif subtotal > 100_00:
        return 0.05
    return 0.0


def apply_discount(c: "cart.Cart", subtotal: int) -> int:
    rate = discount_rate(len(c.items), subtotal)
    return round(subtotal * (1 - rate))
