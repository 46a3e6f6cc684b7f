package com.acme.shop;

import com.acme.pricing.Pricing;
import com.acme.util.MathUtil;
import java.util.ArrayList;
import java.util.List;

public class Cart {
    private final List<Item> items = new ArrayList<>();
    private Pricing pricing;

    public Cart() {
        this(null);
    }

    public Cart(Pricing pricing) {
        this.pricing = pricing;
    }

    public void add(Item item) {
        items.add(item);
    }

    public void add(Item item, int count) {
        for (int i = 0; i < count; i++) {
            add(item);
        }
    }

    public void add(String name, int cents) {
        this.add(new Item(name, cents), 1);
    }

    public int total() {
        int sum = 0;
        for (Item item : items) {
            sum += item.price();
        }
        return MathUtil.clamp(pricing.apply(sum), 0);
    }

    public static class Line {
        private final Item item;

        public Line(Item item) {
            this.item = item;
        }

        public String label() {
            return item.name() + Cart.describe(item);
        }
    }

    static String describe(Item item) {
        return String.valueOf(item.price());
    }
}
