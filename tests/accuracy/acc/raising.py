"""`raise A` and `raise A(...)` instantiate `A`: an edge to the `__init__` found through the MRO."""


class Failure(Exception):
    def __init__(self, message="failed"):
        super().__init__(message)


class Timeout(Failure):
    pass


class Plain(Exception):
    pass


def check(flag, value):
    if flag == 1:
        raise Failure  # calls: acc.raising.Failure.__init__
    if flag == 2:
        raise Timeout("slow")  # calls: acc.raising.Failure.__init__
    if flag == 3:
        raise Plain  # calls: acc.raising.Plain
    try:
        return 1 / value
    except ZeroDivisionError as exc:
        raise Timeout() from exc  # calls: acc.raising.Failure.__init__


def reraise(error):
    err = Failure("x")  # calls: acc.raising.Failure.__init__
    if error:
        raise err
    try:
        check(0, 1)  # calls: acc.raising.check
    except Failure:
        raise
