pub struct Tax {
    rate: f64,
}

impl Tax {
    pub fn standard() -> Self {
        Tax { rate: 0.2 }
    }

    pub fn apply(&self, amount: f64) -> f64 {
        amount * (1.0 + self.rate)
    }
}

impl Default for Tax {
    fn default() -> Self {
        Self::standard()
    }
}

pub fn discount(amount: f64) -> f64 {
    amount.min(100.0)
}
