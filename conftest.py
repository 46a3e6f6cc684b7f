"""Root conftest: pytest only honours ``pytest_plugins`` here (not in tests/ subfolders)."""

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.leftovers"]
