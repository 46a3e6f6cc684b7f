package com.acme.pricing;

public class FlatPricing implements Pricing {
    @Override
    public int apply(int cents) {
        return cents;
    }
}
