"""Command line entry point."""

import sys

from shop import Cart, DigitalProduct, Product
from shop.checkout import checkout


def main(argv: list[str]) -> int:
    cart = Cart()
    cart.add(Product("book", 1500))
    cart.add(DigitalProduct("ebook", 900))
    receipt = checkout(cart, argv[0] if argv else "card")
    print(receipt)
    return 0 if receipt else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
