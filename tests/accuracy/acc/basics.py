"""Calls every analysis of Python should get: functions, methods, the MRO, super, decorators.

A decorated name keeps its function (docs/analysis.md, "Calls"): calling it is an edge to the
function, and the wrapper calls the function in turn."""

import functools


def helper():
    return 1


def twice(fn):
    @functools.wraps(fn)  # calls: functools.wraps
    def wrapper(*args):
        fn(*args)  # calls: acc.basics.sized, acc.basics.Shape.describe
        return fn(*args)  # calls: acc.basics.sized, acc.basics.Shape.describe

    return wrapper


@twice  # calls: acc.basics.twice
def sized(n):
    return helper() + n  # calls: acc.basics.helper


class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        return 0

    @twice  # calls: acc.basics.twice
    def describe(self):
        return self.area()  # calls: acc.basics.Shape.area, acc.basics.Square.area

    @classmethod
    def unit(cls):
        return cls("unit")  # calls: acc.basics.Shape.__init__, acc.basics.Square.__init__


class Square(Shape):
    def __init__(self, side):
        super().__init__("square")  # calls: acc.basics.Shape.__init__
        self.side = side

    def area(self):
        return self.side * self.side


def main():
    s = Square(2)  # calls: acc.basics.Square.__init__
    s.describe()  # calls: acc.basics.Shape.describe
    Shape.unit()  # calls: acc.basics.Shape.unit
    Square.unit()  # calls: acc.basics.Shape.unit
    sized(3)  # calls: acc.basics.sized
    f = helper
    return f()  # calls: acc.basics.helper
