# The course hub's configuration. course_hub.py writes SETTINGS (a dict) above this line; see its docstring.
import os
import pwd
import shlex

c = get_config()  # provided by JupyterHub's config loader
S = SETTINGS  # provided by course_hub.py, which runs this file with its settings

c.JupyterHub.bind_url = f"http://127.0.0.1:{S['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{S['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{S['proxy_api_port']}"
DEADLINES_URL = f"http://127.0.0.1:{S['deadlines_port']}"
c.JupyterHub.db_url = "sqlite:///" + os.path.join(S["state"], "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(S["state"], "cookie_secret")
c.ConfigurableHTTPProxy.command = [S["proxy"]]
c.ConfigurableHTTPProxy.pid_file = os.path.join(S["state"], "proxy.pid")
c.JupyterHub.cleanup_servers = True

users = set(S["graders"]) | set(S["students"])
c.Authenticator.allowed_users = users
c.Authenticator.admin_users = {S["admin"]}
if S["dummy"]:
    # laptop demo: one shared password and every server runs as the hub's own user
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = S["dummy_password"]
    c.JupyterHub.spawner_class = "simple"
    if os.geteuid() == 0:  # a demo in a container, where everything runs as root
        c.Spawner.args = ["--allow-root"]
else:
    c.JupyterHub.authenticator_class = "pam"
    c.JupyterHub.spawner_class = "localprocess"

c.Spawner.cmd = [os.path.join(S["venv_bin"], "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def per_role(spawner):
    """Graders open the course folder with formgrader; students their home with the Assignment List."""
    name = spawner.user.name
    grader = name in S["graders"]
    spawner.environment["JUPYTER_CONFIG_PATH"] = S["config_path"][name]
    spawner.environment["PATH"] = S["venv_bin"] + os.pathsep + "/usr/local/bin:/usr/bin:/bin"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        spawner.environment[var] = "1"
    spawner.notebook_dir = S["course"] if grader else S["homes"][name]
    if not S["dummy"]:
        spawner.environment["GRADEKIT_DEADLINES_URL"] = f"{DEADLINES_URL}/services/deadlines/api/me"
    if grader:
        # graders share the course folder through their group: what they write stays group-writable; and
        # nbgrader (formgrader) reads the course's nbgrader_config.py from the working folder
        start = f'umask 0007 && cd {shlex.quote(S["course"])} && exec "$0" "$@"'
        spawner.cmd = ["/bin/sh", "-c", start, *c.Spawner.cmd]
    if S["dummy"]:
        spawner.home_dir_template = S["homes"][name]
        spawner.environment["HOME"] = S["homes"][name]
    else:
        spawner.environment["HOME"] = pwd.getpwnam(name).pw_dir


c.Spawner.pre_spawn_hook = per_role
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(os.path.dirname(S["course"]), "..", "{username}")

# Each student's own due dates (gradekit.apps.deadline_service), run as the instructor since it reads the
# gradebook; every user may open it (the hub's Services menu), and the students' servers ask it with their
# own token before a submit (gradekit.apps.late_warning, enabled in the students' server config).
# (not in the laptop demo, where every server runs as one account and nothing is private anyway)
c.JupyterHub.services = [] if S["dummy"] else [{
    "name": "deadlines", "display": True, "oauth_no_confirm": True, "url": DEADLINES_URL,
    # -P: the working folder (the course, writable by the graders) is not put on the service's sys.path;
    # the graders' umask and PATH, since a managed service inherits neither
    "command": ["/bin/sh", "-c", 'umask 0007 && exec "$@"', "sh", os.path.join(S["venv_bin"], "python"), "-P", "-m",
                "gradekit.apps.deadline_service", "--course", S["course"], "--released-in", S["outbound"]],
    "environment": {"PATH": S["venv_bin"] + os.pathsep + "/usr/local/bin:/usr/bin:/bin"},
    "cwd": S["course"], "user": S["admin"],
}]
c.JupyterHub.load_roles = []
if not S["dummy"]:
    c.JupyterHub.load_roles.append({"name": "user", "scopes": ["self", "access:services!service=deadlines"]})
    c.Spawner.server_token_scopes = ["users:activity!user", "access:services!service=deadlines"]

# the test suite and course scripts talk to the hub's API with this service's token (from the environment)
if os.environ.get("COURSE_HUB_API_TOKEN"):
    c.JupyterHub.services.append({"name": "course-admin", "api_token": os.environ["COURSE_HUB_API_TOKEN"]})
    c.JupyterHub.load_roles.append({"name": "course-admin", "services": ["course-admin"],
                                    "scopes": ["admin:users", "admin:servers", "tokens", "list:users"]})
