use crate::shop::cart::Cart;

pub fn log(message: &str) {
    println!("{}", message);
}

pub mod math {
    pub fn square(x: f64) -> f64 {
        x * x
    }

    pub fn cube(x: f64) -> f64 {
        square(x) * x
    }
}

impl Cart {
    pub fn log_total(&self) {
        log("total");
        math::cube(self.total());
    }
}
