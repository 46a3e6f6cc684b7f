"""`self.__class__(...)` and `type(x)(...)` instantiate the instance's own class."""


class Query:
    def __init__(self, model=None):
        self.model = model

    def clone(self):
        return self.__class__(self.model)  # calls: acc.introspection.Query.__init__

    def copy(self):
        return type(self)(self.model)  # calls: acc.introspection.Query.__init__

    def describe(self):
        return type(self).__name__


def run():
    q = Query()  # calls: acc.introspection.Query.__init__
    q.clone()  # calls: acc.introspection.Query.clone
    q.copy()  # calls: acc.introspection.Query.copy
    return q.describe()  # calls: acc.introspection.Query.describe
