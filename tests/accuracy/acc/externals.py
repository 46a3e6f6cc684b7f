"""Calls through modules that are not analysed give external nodes; a class whose base is
external calls the external base's `__init__` when instantiated."""

import json

import ext
from ext import Base
from ext.sub import tool


class Mine(Base):
    pass


class Wrapped(ext.Base):
    def __init__(self):
        super().__init__()  # calls: ext.Base.__init__


def run():
    ext.Cls.fun()  # calls: ext.Cls.fun
    ext.helper(1)  # calls: ext.helper
    tool.make()  # calls: ext.sub.tool.make
    json.dumps({})  # calls: json.dumps
    Mine()  # calls: acc.externals.Mine, ext.Base.__init__
    Wrapped()  # calls: acc.externals.Wrapped.__init__
