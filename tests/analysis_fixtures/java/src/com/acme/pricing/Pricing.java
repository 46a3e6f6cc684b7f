package com.acme.pricing;

public interface Pricing {
    int apply(int cents);

    default int twice(int cents) {
        return apply(apply(cents));
    }
}
