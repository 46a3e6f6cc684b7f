"""Values kept in containers come back out: lists, dicts, and the standard library's
`OrderedDict` and `defaultdict` (dicts created where they are called)."""

from collections import OrderedDict, defaultdict


class Handler:
    def handle(self):
        return 1


class Other:
    def handle(self):
        return 2


def dispatch():
    handlers = OrderedDict()  # calls: collections.OrderedDict
    handlers["a"] = Handler()  # calls: acc.containers.Handler
    for handler in handlers.values():
        handler.handle()  # calls: acc.containers.Handler.handle
    groups = defaultdict(list)  # calls: collections.defaultdict
    groups["x"].append(Other())  # calls: acc.containers.Other
    by_name = {"o": Other()}  # calls: acc.containers.Other
    by_name["o"].handle()  # calls: acc.containers.Other.handle
    queue = [Handler()]  # calls: acc.containers.Handler
    queue.pop().handle()  # calls: acc.containers.Handler.handle
    return groups
