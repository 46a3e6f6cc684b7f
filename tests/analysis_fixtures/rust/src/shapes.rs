pub trait Shape {
    fn area(&self) -> f64;

    fn describe(&self) -> String {
        format!("area {}", self.area())
    }
}

pub struct Circle {
    radius: f64,
}

pub struct Square {
    pub side: f64,
}

impl Circle {
    pub fn new(radius: f64) -> Self {
        Self::checked(radius)
    }

    fn checked(radius: f64) -> Self {
        Circle { radius: radius.abs() }
    }
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        crate::util::math::square(self.radius) * 3.14
    }
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }

    fn describe(&self) -> String {
        let a = self.area();
        super::util::log("square");
        String::from("square") + &a.to_string()
    }
}
