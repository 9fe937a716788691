"""Run the student's kernel in a sandbox: `python sandbox.py [options] -- KERNEL COMMAND...`.

Used by SandboxedKernelManager (gradekit/plugins/kernel.py) as a prefix of the kernel's command. With Linux
namespaces (root, or unprivileged user namespaces) the kernel gets:

- its own mount namespace in which the whole filesystem is read-only, except the submission's own
  folder (--writable), a private empty /tmp and /dev/shm, and the folder of its IPC sockets;
- every top-level folder but the operating system's (/usr, /etc, /lib, ...) replaced by an empty
  read-only mount, except the paths it needs (--writable, --keep: the Python environment): the course,
  the kit's checkouts, home folders are not there; --hide covers more folders (the course directory and
  the kit's checkout, in case they live inside a system folder);
- no network (a new network namespace: only a loopback interface, down; the grader talks to the
  kernel over Unix sockets instead of TCP);
- its own PID namespace with a fresh /proc: it cannot see or signal other processes, and every process
  it spawns dies with it;
- no capabilities, and no way to gain any (no_new_privs), so it cannot undo the mounts; graded as root, it
  runs as an unprivileged user (--uid, `nobody` by default) after the mounts are made, so files owned by
  root (sysctls, cgroup files) are not writable to it; graded as another user, it is root only inside its
  own user namespace, which gives it no right over files outside;
- its own /proc (new PID namespace) with /proc/sys read-only, /sys read-only with the cgroup tree hidden,
  a minimal /dev (null, zero, full, random, urandom), its own IPC and UTS namespaces;
- an environment reduced to an allow list (--env), HOME in its private /tmp, standard input, output and
  error on /dev/null and no other inherited descriptor (the grader's log, its pipes);
- no kernel keyring (a seccomp filter refuses add_key, request_key and keyctl: keys outlive a kernel and
  kernels of one uid share them) and no system call through another ABI (32-bit, x32);
- resource limits (--memory-mb address space, --file-mb largest file, --open-files), and a cap on its
  processes: --processes sets RLIMIT_NPROC inside its user namespace (unprivileged graders), --cgroup
  puts it in a pids cgroup made for it (root, whom Linux exempts from RLIMIT_NPROC).

Without namespaces it applies the resource limits only and says so on stderr. This file must not import
the gradekit package: it runs before the kernel, from its path, after the kit's folder is hidden.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

INNER = "--inner"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writable", action="append", default=[])
    parser.add_argument("--keep", action="append", default=[])
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--file-mb", type=int, default=0)
    parser.add_argument("--open-files", type=int, default=0)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--cgroup", help="a pids cgroup folder to join before anything else starts")
    parser.add_argument("--parent-pid", type=int, default=0, help="the process starting the kernel")
    parser.add_argument("--uid", type=int, default=-1, help="as root: the unprivileged user the kernel runs as")
    parser.add_argument("--env", action="append", default=[], help="an environment variable the kernel keeps")
    parser.add_argument("--no-namespaces", action="store_true")
    parser.add_argument(INNER, action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    return args


def namespace_prefix() -> list[str]:
    prefix = ["unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
    return prefix if os.geteuid() == 0 else prefix[:1] + ["--user", "--map-root-user"] + prefix[1:]


def namespaces_available() -> bool:
    """Whether this machine lets us create the namespaces (checked once per grading process)."""
    if not (sys.platform.startswith("linux") and shutil.which("unshare") and shutil.which("setpriv")):
        return False
    try:
        return subprocess.run(namespace_prefix() + ["true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def mountpoints() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    return sorted(set(points), key=len)


MS_BIND = 4096
# Top-level folders the kernel sees (read-only): the operating system. Every other one is covered.
SYSTEM_FOLDERS = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "sys", "tmp"}


def bind_from_fd(fd: int, target: str) -> None:
    """Bind-mount what `fd` refers to onto `target`: works after the original path has been covered."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(f"/proc/self/fd/{fd}".encode(), target.encode(), None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), f"bind mount onto {target} failed")


def cover(folder: str, keep: list[str], writable: bool) -> None:
    """Replace `folder` by an empty tmpfs in which only the `keep` paths inside it reappear. Covering the
    whole folder, not entry by entry, also hides what other graders create in it later."""
    keep = [k for k in keep if k.startswith(folder + os.sep) and os.path.exists(k)]
    fds = {k: os.open(k, os.O_PATH) for k in keep}
    try:
        # a private /tmp and /dev/shm: memory the supervisor's resident-memory limit does not see, kept small
        mount("-t", "tmpfs", "-o", "size=128m,mode=1777" if writable else "size=1m,mode=0755", "gradekit", folder)
        for path, fd in fds.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            bind_from_fd(fd, path)
        if not writable:
            mount("-o", "remount,bind,ro", folder)  # per mount: a user namespace may not remount the tmpfs itself
    finally:
        for fd in fds.values():
            os.close(fd)


def build_filesystem(args: argparse.Namespace) -> None:
    mount("--make-rprivate", "/")
    writable = [os.path.realpath(p) for p in args.writable]
    for path in writable:  # their own mounts, so that they stay writable below
        mount("--bind", path, path)
    for point in mountpoints():  # every other mount read-only, /sys included
        if point in writable or point.startswith(("/proc", "/dev")):
            continue
        try:
            mount("-o", "remount,bind,ro", point)
        except subprocess.CalledProcessError:
            pass  # some special mounts refuse; they hold nothing of the course
    keep = writable + [os.path.realpath(p) for p in args.keep]
    minimal_dev()
    protect_kernel_interfaces()
    for private in ("/tmp", "/dev/shm"):  # private and empty, except the kernel's own folders
        if os.path.isdir(private):
            cover(private, keep, writable=True)
    # Outside the system folders only the kept paths stay visible: not the course, other checkouts of the
    # kit, home folders or mounted shares. Then the --hide folders, for a course inside a system folder.
    for entry in os.scandir("/"):
        if entry.name not in SYSTEM_FOLDERS and entry.is_dir(follow_symlinks=False):
            cover(entry.path, keep, writable=False)
    hidden = sorted({os.path.realpath(h) for h in args.hide if os.path.isdir(h)}, key=len)
    for folder in [h for h in hidden if not any(h.startswith(o + os.sep) for o in hidden)]:
        cover(folder, keep, writable=False)


DEVICES = ("null", "zero", "full", "random", "urandom")


def minimal_dev() -> None:
    """/dev holds only the harmless character devices (bind mounts of the real ones, which work in a
    user namespace where creating a device node does not) and the usual links into /proc."""
    fds = {name: os.open(f"/dev/{name}", os.O_PATH) for name in DEVICES if os.path.exists(f"/dev/{name}")}
    try:
        mount("-t", "tmpfs", "-o", "size=1m,mode=0755", "gradekit-dev", "/dev")
        for name, fd in fds.items():
            open(f"/dev/{name}", "a").close()
            bind_from_fd(fd, f"/dev/{name}")
        os.mkdir("/dev/shm")
        for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"/dev/{link}")
        mount("-o", "remount,bind,ro", "/dev")
    finally:
        for fd in fds.values():
            os.close(fd)


def protect_kernel_interfaces() -> None:
    """The kernel's knobs out of reach: /proc/sys and /proc/sysrq-trigger read-only, the cgroup tree
    (its own pids limit included) covered by an empty folder."""
    for path in ("/proc/sys", "/proc/sysrq-trigger"):
        if os.path.exists(path):
            mount("--bind", path, path)
            mount("-o", "remount,bind,ro", path)
    if os.path.isdir("/sys/fs/cgroup"):
        mount("-t", "tmpfs", "-o", "size=1k,mode=0555", "gradekit-cgroup", "/sys/fs/cgroup")
        mount("-o", "remount,bind,ro", "/sys/fs/cgroup")


def private_config_dirs(uid: int = -1) -> None:
    """IPython and matplotlib want writable folders; give them ones in the private /tmp, seeded with
    matplotlib's font cache so that every kernel does not rebuild it."""
    if not os.access("/tmp", os.W_OK):
        return
    os.environ.setdefault("IPYTHONDIR", "/tmp/ipython")
    if "MPLCONFIGDIR" not in os.environ:
        cache = os.path.join(os.path.expanduser("~"), ".cache", "matplotlib")
        os.makedirs("/tmp/matplotlib", exist_ok=True)
        if os.path.isdir(cache):
            for name in os.listdir(cache):
                if name.endswith(".json"):
                    shutil.copy(os.path.join(cache, name), "/tmp/matplotlib")
        os.environ["MPLCONFIGDIR"] = "/tmp/matplotlib"
    if uid >= 0:
        for folder in ("/tmp/matplotlib", os.environ["IPYTHONDIR"]):
            os.makedirs(folder, exist_ok=True)
            for base, dirs, files in os.walk(folder):
                for name in [base] + [os.path.join(base, n) for n in dirs + files]:
                    os.lchown(name, uid, uid)


# What a kernel may keep of the environment it is started with: the rest (tokens, database URLs, the
# grader's paths) stays with the grader. Extended by --env.
ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "OMP_NUM_THREADS",
               "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MPLBACKEND",
               "IPYTHONDIR", "MPLCONFIGDIR", "PYDEVD_DISABLE_FILE_VALIDATION", "JPY_PARENT_PID")


def reduced_environment(extra: list[str]) -> dict[str, str]:
    allowed = set(ENV_ALLOWED) | set(extra)
    env = {k: v for k, v in os.environ.items() if k in allowed}
    env["HOME"] = "/tmp" if os.access("/tmp", os.W_OK) else "/"
    return env


def isolate_descriptors() -> None:
    """Standard input, output and error on /dev/null, every other descriptor closed: the kernel talks to
    the grader only through its sockets, never through the grader's log or pipes."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_PDEATHSIG = 38, 24, 1
LAST_CAPABILITY = 63


def drop_to_user(uid: int) -> None:
    """As root, after the mounts: empty the capability bounding set, become `uid` (no groups), set
    no_new_privs, and ask again for SIGKILL when the parent dies (a change of user clears it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # capabilities this kernel does not know fail: fine
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")


# The kernel keyring's system calls are refused: keys outlive their kernel and, for kernels that share a uid
# outside a user namespace (a root grader's `nobody`), every kernel reads the same user keyring: a channel
# from one student's kernel to the next. (add_key, request_key, keyctl), and the ABI they belong to.
KEY_SYSCALLS = {"x86_64": ((248, 249, 250), 0xC000003E), "aarch64": ((217, 218, 219), 0xC00000B7)}
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_EPERM = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
X32_SYSCALL_BIT = 0x40000000


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def deny_key_syscalls() -> bool:
    """A seccomp filter, inherited by everything the kernel starts: the keyring calls fail with EPERM, and so
    does every call through another ABI (32-bit or x32, whose numbers differ). False where the machine's
    numbers are not known (the kernel then runs without the filter)."""
    known = KEY_SYSCALLS.get(os.uname().machine)
    if known is None:
        return False
    (add_key, request_key, keyctl), arch = known
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, …|BPF_JGE, BPF_RET
    program = [(ld, 0, 0, 4),  # the call's ABI
               (jeq, 1, 0, arch), (ret, 0, 0, SECCOMP_RET_EPERM),
               (ld, 0, 0, 0),  # the call's number
               (jge, 4, 0, X32_SYSCALL_BIT), (jeq, 3, 0, add_key), (jeq, 2, 0, request_key), (jeq, 1, 0, keyctl),
               (ret, 0, 0, SECCOMP_RET_ALLOW), (ret, 0, 0, SECCOMP_RET_EPERM)]
    filters = (_SockFilter * len(program))(*[_SockFilter(*op) for op in program])
    fprog = _SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter for the keyring calls")
    return True


def limit(args: argparse.Namespace) -> None:
    mb = 2**20
    for name, value in ((resource.RLIMIT_AS, args.memory_mb * mb), (resource.RLIMIT_FSIZE, args.file_mb * mb),
                        (resource.RLIMIT_NOFILE, args.open_files), (resource.RLIMIT_NPROC, args.processes)):
        if value:
            resource.setrlimit(name, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


PIDS_HIERARCHIES = ("/sys/fs/cgroup", "/sys/fs/cgroup/pids")  # cgroup v2, then v1's pids controller
CGROUP_PARENT = "gradekit"


def _pids_root() -> str | None:
    v2, v1 = PIDS_HIERARCHIES
    controllers = os.path.join(v2, "cgroup.controllers")
    if os.path.isfile(controllers) and "pids" in open(controllers).read().split() and os.access(v2, os.W_OK):
        return v2
    if os.path.isfile(os.path.join(v1, "cgroup.procs")) and os.access(v1, os.W_OK):
        return v1
    return None


def pids_cgroup_available() -> bool:
    return _pids_root() is not None


def new_pids_cgroup(max_tasks: int) -> str | None:
    """A new cgroup that holds at most `max_tasks` processes and threads, or None where none can be made.
    Empty ones left by killed graders (older than a minute) are removed on the way."""
    root = _pids_root()
    if root is None:
        return None
    parent = os.path.join(root, CGROUP_PARENT)
    try:
        os.makedirs(parent, exist_ok=True)
        if os.path.isfile(os.path.join(root, "cgroup.controllers")):  # v2: let the children use pids
            with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
                f.write("+pids")
        for entry in os.scandir(parent):
            if entry.is_dir() and entry.name.startswith("k-") and time.time() - entry.stat().st_mtime > 60:
                remove_pids_cgroup(entry.path, kill=False, attempts=1)  # in use: stays
        folder = os.path.join(parent, f"k-{os.getpid()}-{time.time_ns()}")
        os.mkdir(folder)
        with open(os.path.join(folder, "pids.max"), "w") as f:
            f.write(str(max_tasks))
        return folder
    except OSError:
        return None


def remove_pids_cgroup(folder: str, kill: bool = True, attempts: int = 50) -> None:
    """Remove a kernel's cgroup; with `kill`, first end what is left in it."""
    try:
        if kill:
            with open(os.path.join(folder, "cgroup.procs")) as f:
                for pid in f.read().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
        for _ in range(attempts):
            try:
                os.rmdir(folder)
                return
            except OSError:
                time.sleep(0.1)
    except OSError:
        pass


def join_cgroup(folder: str) -> None:
    try:
        with open(os.path.join(folder, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    except OSError as err:
        print(f"gradekit sandbox: no process limit ({err})", file=sys.stderr)


def die_with_parent(parent_pid: int = 0) -> None:
    """Linux: get SIGKILL when the parent process dies, so a killed grader leaves nothing running.

    Kept across exec (of unshare, setpriv and the kernel); unshare --kill-child passes it on to the
    namespace's processes. `parent_pid` is the process that started this one: when it died before the
    request took effect (this process was already adopted by init), exit now instead of running orphaned."""
    parent = parent_pid or os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    cwd = os.getcwd()
    if not args.inner:
        die_with_parent(args.parent_pid)
        if args.cgroup:
            join_cgroup(args.cgroup)  # before unshare: every process of the kernel is counted
    if not args.inner and not args.no_namespaces:
        # Re-run this script inside new namespaces; unshare forwards the kernel's signals and exit code.
        os.execvp("unshare", namespace_prefix() + [sys.executable, os.path.abspath(__file__), INNER]
                  + (sys.argv[1:] if argv is None else argv))
    if args.inner:
        build_filesystem(args)
        os.chdir(cwd)  # the old working directory is a reference to the unhidden tree
        private_config_dirs(args.uid if os.geteuid() == 0 else -1)
        limit(args)
        env = reduced_environment(args.env)
        if not deny_key_syscalls():
            print(f"gradekit sandbox: no keyring filter for {os.uname().machine}", file=sys.stderr)
        isolate_descriptors()
        if os.geteuid() == 0 and args.uid >= 0 and not _in_user_namespace():
            drop_to_user(args.uid)
            os.execvpe(args.command[0], args.command, env)
        os.execvpe("setpriv", ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
                               *args.command], env)
    print("gradekit sandbox: namespaces unavailable; only resource limits apply", file=sys.stderr)
    limit(args)
    env = reduced_environment(args.env)
    isolate_descriptors()
    os.execvpe(args.command[0], args.command, env)
    return 1


def _in_user_namespace() -> bool:
    """Whether this process is root only inside a user namespace (graded by another user)."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split()[:3] != ["0", "0", "4294967295"]
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
