"""Entry points: the command line, the demo, the students' self-check, the hub's deadline service and
the late-submit warning. The top layer."""
