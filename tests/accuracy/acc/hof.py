"""Functions passed to higher-order builtins and stdlib helpers are called."""

import functools
from functools import partial, reduce


def double(x):
    return x * 2


def keep(x):
    return x > 1


def rank(x):
    return -x


def add(a, b):
    return a + b


class Scale:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return self.k * x


def use(xs):
    doubled = list(map(double, xs))  # calls: acc.hof.double
    kept = list(filter(keep, xs))  # calls: acc.hof.keep
    ordered = sorted(xs, key=rank)  # calls: acc.hof.rank
    lowest = min(xs, key=rank)  # calls: acc.hof.rank
    highest = max(xs, key=rank)  # calls: acc.hof.rank
    items = list(xs)
    items.sort(key=rank)  # calls: acc.hof.rank
    total = functools.reduce(add, xs)  # calls: functools.reduce, acc.hof.add
    total = reduce(add, xs, 0)  # calls: functools.reduce, acc.hof.add
    scaled = list(map(Scale(3).apply, xs))  # calls: acc.hof.Scale.__init__, acc.hof.Scale.apply
    inc = partial(add, 1)  # calls: functools.partial
    inc(2)  # calls: acc.hof.add
    functools.partial(add, 1)(2)  # calls: functools.partial, acc.hof.add
    nothing = list(filter(None, xs))
    return doubled, kept, ordered, lowest, highest, total, scaled, nothing
