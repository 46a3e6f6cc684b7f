package com.acme.util;

public enum Rounding {
    UP,
    DOWN;

    public int adjust(int cents) {
        return this == UP ? cents + 1 : cents;
    }
}
