"""A small shop: products, a cart, pricing rules, checkout and payments."""

from shop.cart import Cart
from shop.models import DigitalProduct, Product

__all__ = ["Cart", "DigitalProduct", "Product"]
