pub fn price(quantity: u32) -> u32 {
    quantity * 2
}
