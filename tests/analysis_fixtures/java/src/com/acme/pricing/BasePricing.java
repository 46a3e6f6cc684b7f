package com.acme.pricing;

import com.acme.util.MathUtil;
import com.acme.util.Rounding;

public abstract class BasePricing {
    protected int round(int cents) {
        return Rounding.UP.adjust(MathUtil.roundTo(cents, 5));
    }
}
