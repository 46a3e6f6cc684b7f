mod shapes;
pub mod shop;
mod util;

use shapes::{Circle, Shape, Square as Sq};
use shop::cart::Cart;
use std::collections::HashMap;

pub fn run() -> f64 {
    let mut cart = Cart::new();
    cart.add(3);
    let c = Circle::new(1.0);
    let s = Sq { side: 2.0 };
    let mut index = HashMap::new();
    index.insert("total", cart.total());
    util::log(&String::from("run"));
    println!("{}", describe(&c));
    s.describe();
    c.describe();
    cart.log_total();
    largest(&c);
    Shape::area(&s) + unknown_helper()
}

fn describe(shape: &dyn Shape) -> String {
    shape.area();
    shape.describe()
}

fn largest<T: Shape>(item: &T) -> f64 {
    item.area()
}
