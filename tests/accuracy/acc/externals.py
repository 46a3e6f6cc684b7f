"""Calls through modules that are not analysed give external nodes; a class whose base is
external calls the external base's `__init__` when instantiated; an instance of a class the
standard library defines has that class's methods as external nodes."""

import argparse
import json
import zipfile

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


def archive(path):
    zf = zipfile.ZipFile(path)  # calls: zipfile.ZipFile
    names = zf.namelist()  # calls: zipfile.ZipFile.namelist
    parser = argparse.ArgumentParser()  # calls: argparse.ArgumentParser
    parser.add_argument("--x")  # calls: argparse.ArgumentParser.add_argument
    return names
