"""What runs inside nbgrader: preprocessors, the sandboxed kernel manager and the sandbox, the trusted
re-check and verdicts, notebook findings, the late-policy and zip-collector plugins. Imports core only."""
