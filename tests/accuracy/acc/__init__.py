"""The accuracy corpus: see ../README.md."""
