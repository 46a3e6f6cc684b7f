package com.acme;

import com.acme.pricing.*;
import com.acme.shop.Cart;
import com.acme.util.MathUtil;
import java.util.HashMap;
import java.util.Map;

public class App {
    private final Map<String, Cart> carts = new HashMap<>();

    public static void main(String[] args) {
        App app = new App();
        app.run(args.length);
    }

    void run(int n) {
        Cart cart = new Cart(new SalePricing(10));
        cart.add("pen", 120);
        var other = new Cart();
        other.add(new com.acme.shop.Item("ink", 300));
        carts.put("main", cart);
        int total = cart.total();
        total += new Cart().total();
        Pricing pricing = new FlatPricing();
        total += pricing.twice(total);
        System.out.println(MathUtil.sum(total, n, 1));
        Cart.Line line = new Cart.Line(null);
        line.label();
        unknown(total);
        final int last = total;
        Runnable r = () -> report(last);
        r.run();
    }

    private void report(int total) {
        Helper.log(total);
    }

    static class Helper {
        static void log(int value) {
            System.out.println(value);
        }
    }
}
