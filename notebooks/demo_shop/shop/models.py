"""Products sold by the shop."""

from dataclasses import dataclass


@dataclass
class Product:
    """Something with a name and a net price in cents."""

    name: str
    cents: int

    def price(self) -> int:
        """Gross price: net plus tax."""
        return self.cents + self.tax()

    def tax(self) -> int:
        return round(self.cents * 0.2)


@dataclass
class DigitalProduct(Product):
    """A download: reduced tax."""

    def tax(self) -> int:
        return round(self.cents * 0.07)
