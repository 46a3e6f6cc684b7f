package com.acme.util;

public final class MathUtil {
    private MathUtil() {
    }

    public static int clamp(int value, int min) {
        return Math.max(value, min);
    }

    public static int roundTo(int value, int step) {
        return clamp(value / step * step, 0);
    }

    public static int percent(int value, int pct) {
        return value * pct / 100;
    }

    public static int sum(int... values) {
        int total = 0;
        for (int v : values) {
            total += v;
        }
        return total;
    }
}
