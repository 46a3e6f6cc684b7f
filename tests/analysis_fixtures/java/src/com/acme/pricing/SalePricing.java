package com.acme.pricing;

import static com.acme.util.MathUtil.percent;

public class SalePricing extends BasePricing implements Pricing {
    private final int off;

    public SalePricing(int off) {
        super();
        this.off = off;
    }

    @Override
    public int apply(int cents) {
        return round(cents - percent(cents, off));
    }
}
