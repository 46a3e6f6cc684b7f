mod line;

use super::{apply_discount, Tax};
use crate::util::math::*;

pub struct Cart {
    items: Vec<u32>,
}

impl Cart {
    pub fn new() -> Cart {
        Cart { items: Vec::new() }
    }

    pub fn add(&mut self, price: u32) {
        self.items.push(line::price(price));
    }

    pub fn total(&self) -> f64 {
        let tax = Tax::standard();
        let sum = self.subtotal();
        apply_discount(tax.apply(sum))
    }

    fn subtotal(&self) -> f64 {
        cube(1.0) + Self::count(self) as f64
    }

    fn count(cart: &Cart) -> usize {
        cart.items.len()
    }
}
