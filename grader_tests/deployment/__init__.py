"""Tests of the course as it is deployed: JupyterHub with the exchange, PostgreSQL, the README's steps."""
