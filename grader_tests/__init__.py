"""The kit's tests, by kind: kit/, assignment1/, deployment/, browser/; helpers.py is shared."""
