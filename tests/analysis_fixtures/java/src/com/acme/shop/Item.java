package com.acme.shop;

public record Item(String name, int price) {
    public Item {
        if (price < 0) {
            throw new IllegalArgumentException("price");
        }
    }

    public int price() {
        return price;
    }

    public String name() {
        return name.trim();
    }
}
