pub mod cart;
mod pricing;

pub use self::pricing::{discount as apply_discount, Tax};
