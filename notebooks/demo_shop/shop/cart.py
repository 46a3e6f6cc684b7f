"""The shopping cart."""

from shop import pricing
from shop.models import Product


class Cart:
    """Products a customer is about to buy."""

    def __init__(self) -> None:
        self.items: list[Product] = []

    def add(self, product: Product) -> int:
        """Add a product; returns the number of items."""
        self.items.append(product)
        return len(self.items)

    def subtotal(self) -> int:
        return sum(p.price() for p in self.items)

    def total(self) -> int:
        """Subtotal after the best applicable discount."""
        return pricing.apply_discount(self, self.subtotal())
