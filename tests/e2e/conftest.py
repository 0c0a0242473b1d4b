"""Fixtures for the end-to-end tests: a real, private Postfix delivering through the agent.

Contract: one session builds everything once, in this order: Debian's
    postfix and Courier authdaemond packages (installed when missing, never
    started), test accounts (pmd_*), the agent (pymaildrop installed from
    this checkout into a venv on /usr/bin/python3 under /var/tmp, or the
    command named by PYMAILDROP_E2E_AGENT, e.g. /usr/bin/maildrop), a
    private mount namespace, authdaemond and a Postfix instance inside it.
    Its configuration is rendered from tests/e2e/templates/ plus the very
    files in samples/postfix/ that the README shows.
Safety: nothing outside a temporary directory under /var/tmp is written,
    except the test accounts (deleted at the end): /etc/postfix is never
    read, smtpd listens on 127.0.0.1 and a free high port, default and
    relay transports are error:, and /etc/courier, /run/courier, /var/mail
    and /etc/maildroprc are private bind mounts seen only by our Postfix and
    authdaemond.  Teardown stops both, also after a failure.  A lock file
    keeps two sessions on one machine from sharing accounts.
Errors: the tests need root on Debian (apt-get) and skip otherwise; leave
    them out with `-m "not e2e"`.  With PYMAILDROP_REQUIRE_E2E=1 every skip
    of an e2e test is turned into a failure, so CI cannot pass with a
    silently skipped suite.
See also: postfix_harness.py (the helpers); test_postfix.py (the
    scenarios); /work/shared/research/postfix-notes.md.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from postfix_harness import (
    LogDelivery,
    Maildir,
    Message,
    MountNamespace,
    PostfixInstance,
    Samples,
    free_port,
    master_entry,
    pid_alive,
    run,
    wait_for,
)

E2E_DIR = Path(__file__).resolve().parent
CHECKOUT = E2E_DIR.parents[1]
SAMPLES_DIR = CHECKOUT / "samples" / "postfix"
TEMPLATES_DIR = E2E_DIR / "templates"

REQUIRE_ENV = "PYMAILDROP_REQUIRE_E2E"
AGENT_ENV = "PYMAILDROP_E2E_AGENT"
KEEP_ENV = "PYMAILDROP_E2E_KEEP"

PACKAGES = ("postfix", "courier-authdaemon", "courier-authlib-userdb", "maildrop")
LOCK_FILE = Path("/run/lock/pymaildrop-e2e.lock")
BASE_PARENT = "/var/tmp"
BASE_PREFIX = "pymaildrop-e2e-"
LOCK_TIMEOUT = 600.0
ACCOUNT_PREFIX = "pmd_"

# The samples are written for a real server; these are their stand-ins here.
SAMPLE_AGENT = "/usr/local/bin/pymaildrop"
SAMPLE_VMAIL_ID = "5000"
SAMPLE_MAPPED_USER = "jdoe"

# Virtual users the scenarios use (all but ghost@ are in the agent's database).
VIRTUAL_USERS = ("alice@example.com", "bob@example.com", "carol@example.com",
                 "frank@example.com", "dave@example.net", "erin@example.org")


# ---------------------------------------------------------------- the gate


# Skipped e2e tests fail under PYMAILDROP_REQUIRE_E2E=1: see tests/conftest.py.


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):  # type: ignore[no-untyped-def]
    """Turn a skipped e2e module into a failure when PYMAILDROP_REQUIRE_E2E=1."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(REQUIRE_ENV) == "1" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"e2e module skipped, but {REQUIRE_ENV}=1 forbids skipping"


# ------------------------------------------------------------ the session


@pytest.fixture(scope="session")
def e2e_base() -> Iterator[Path]:
    """Return a private 0755 directory under /var/tmp; hold the machine-wide lock.

    Skips unless run as root on Debian.  Removed at the end unless
    PYMAILDROP_E2E_KEEP=1 (for looking at the maillog afterwards); the next
    session removes it, after stopping whatever a killed run left running.
    """
    if os.geteuid() != 0:
        pytest.skip("the end-to-end tests need root (they run a private Postfix)")
    if not shutil.which("apt-get"):
        pytest.skip("the end-to-end tests need a Debian system (apt-get)")
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        wait_for(lambda: _try_lock(lock), what=f"the e2e lock {LOCK_FILE}",
                 timeout=LOCK_TIMEOUT)
        _clean_up_killed_runs()
        base = Path(tempfile.mkdtemp(prefix=BASE_PREFIX, dir=BASE_PARENT))
        base.chmod(0o755)
        try:
            yield base
        finally:
            if os.environ.get(KEEP_ENV) == "1":
                print(f"\npymaildrop e2e: kept {base}")
            else:
                shutil.rmtree(base, ignore_errors=True)


def _clean_up_killed_runs() -> None:
    """Stop the Postfix and authdaemond of earlier runs that could not tear down.

    Called with the lock held, so every other base directory belongs to a
    run that is over (killed, or kept with PYMAILDROP_E2E_KEEP=1).
    """
    for old in Path(BASE_PARENT).glob(BASE_PREFIX + "*"):
        master = _pid_from(old / "postfix-spool" / "pid" / "master.pid")
        if master:
            run(["postfix", "-c", str(old / "postfix-etc"), "stop"], check=False)
            _wait_exit(master, f"the Postfix left in {old}")
        daemon = _pid_from(old / "ns" / "run-courier" / "authdaemon" / "pid")
        if daemon:
            os.kill(daemon, signal.SIGTERM)
            _wait_exit(daemon, f"the authdaemond left in {old}")
        shutil.rmtree(old, ignore_errors=True)


def _wait_exit(pid: int, what: str) -> None:
    wait_for(lambda: not pid_alive(pid), what=f"{what} (pid {pid}) to exit", timeout=30)


def _pid_from(path: Path) -> int | None:
    """Return the live process whose pid a pid file holds, else None."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def _try_lock(lock: object) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
    except BlockingIOError:
        return False
    return True


@pytest.fixture(scope="session")
def system_packages(e2e_base: Path) -> None:
    """Install postfix, courier-authdaemon and maildrop when missing; start nothing.

    debconf gets "No configuration" for postfix, so /etc/postfix stays
    unconfigured, and a temporary policy-rc.d stops the packages' init
    scripts from starting the system's Postfix or authdaemond.
    """
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return
    run(["debconf-set-selections"],
        input="postfix postfix/main_mailer_type select No configuration\n")
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# pymaildrop e2e: start no services\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], timeout=600, env=env)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            timeout=900, env=env)
    finally:
        if ours:
            policy.unlink()
    assert not _system_postfix_running(), "the system's Postfix was started by the install"


def _installed(package: str) -> bool:
    proc = run(["dpkg-query", "-W", "-f=${Status}", package], check=False)
    return proc.returncode == 0 and proc.stdout.endswith(" installed")


def _system_postfix_running() -> bool:
    return _pid_from(Path("/var/spool/postfix/pid/master.pid")) is not None


@dataclass(frozen=True)
class Account:
    """A UNIX account made for the tests."""

    name: str
    uid: int
    gid: int
    home: Path

    @property
    def maildir(self) -> Maildir:
        return Maildir(self.home / "Maildir")


@pytest.fixture(scope="session")
def accounts(e2e_base: Path, system_packages: None) -> Iterator[dict[str, Account]]:
    """Create the test accounts; delete them (userdel) at the end.

    pmd_vmail owns every hosted mailbox and is the pipe(8) user; pmd_local1
    (mailbox_command), pmd_local2 (mailbox_command_maps), pmd_local3
    (.forward) and pmd_sender (receives bounces) are local users with 0700
    homes and an empty Maildir.
    """
    homes = e2e_base / "home"
    homes.mkdir(mode=0o755)
    made: dict[str, Account] = {}
    try:
        made["vmail"] = _make_account("pmd_vmail", e2e_base / "vhosts",
                                      shell="/usr/sbin/nologin")
        made["vmail"].home.chmod(0o755)
        for name in ("pmd_local1", "pmd_local2", "pmd_local3", "pmd_sender"):
            made[name] = account = _make_account(name, homes / name, shell="/bin/sh")
            _make_maildir(account.home / "Maildir", account)
        yield made
    finally:
        for account in made.values():
            run(["userdel", account.name], check=False)


def _make_account(name: str, home: Path, shell: str) -> Account:
    assert name.startswith(ACCOUNT_PREFIX)
    try:
        old = pwd.getpwnam(name)
    except KeyError:
        pass
    else:
        # SECURITY: remove only what an earlier, interrupted run left behind.
        assert old.pw_dir.startswith(f"{BASE_PARENT}/{BASE_PREFIX}"), \
            f"account {name} exists and is not ours (home {old.pw_dir})"
        run(["userdel", name])
    run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", shell,
         "--user-group", name])
    entry = pwd.getpwnam(name)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    return Account(name, entry.pw_uid, entry.pw_gid, home)


def _make_maildir(path: Path, owner: Account, folder: bool = False) -> None:
    """Create a Maildir (as maildirmake does) owned by owner."""
    for sub in ("", "tmp", "new", "cur"):
        (path / sub).mkdir(mode=0o700, exist_ok=True)
        os.chown(path / sub, owner.uid, owner.gid)
    if folder:
        (path / "maildirfolder").touch(mode=0o600)
        os.chown(path / "maildirfolder", owner.uid, owner.gid)


@dataclass(frozen=True)
class Agent:
    """The delivery agent under test: pymaildrop, or maildrop for comparison."""

    path: str
    is_pymaildrop: bool

    def command(self, config: Path) -> str:
        """Return the command that stands in for /usr/local/bin/pymaildrop.

        pymaildrop gets `--config FILE` (our config is not at the default
        path); maildrop has no such option and finds users via authdaemond.
        """
        return f"{self.path} --config {config}" if self.is_pymaildrop else self.path


@pytest.fixture(scope="session")
def agent(e2e_base: Path, system_packages: None) -> Agent:
    """Return the agent: $PYMAILDROP_E2E_AGENT, else pymaildrop built from this checkout.

    The build is a regular (not editable) `pip install` of the checkout
    into a venv on Debian's /usr/bin/python3 under the 0755 base directory,
    so that the pipe user and local users can run it (nothing under /root).
    """
    chosen = os.environ.get(AGENT_ENV, "")
    if chosen:
        path = shutil.which(chosen) or chosen
        assert os.access(path, os.X_OK), f"{AGENT_ENV}={chosen} is not executable"
        return Agent(path, is_pymaildrop=Path(path).name != "maildrop")
    venv = e2e_base / "venv"
    run(["/usr/bin/python3", "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         str(CHECKOUT)], timeout=600)
    return Agent(str(venv / "bin" / "pymaildrop"), is_pymaildrop=True)


# --------------------------------------------------- namespace, authdaemond


@dataclass(frozen=True)
class PrivatePaths:
    """Where the namespace's private versions of system paths live."""

    etc_courier: Path
    run_courier: Path
    var_mail: Path
    maildroprc: Path

    @property
    def binds(self) -> dict[str, Path]:
        return {"/etc/courier": self.etc_courier, "/run/courier": self.run_courier,
                "/var/mail": self.var_mail, "/etc/maildroprc": self.maildroprc}


@pytest.fixture(scope="session")
def private_paths(e2e_base: Path, system_packages: None) -> PrivatePaths:
    """Create the private /etc/courier, /run/courier, /var/mail and /etc/maildroprc."""
    root = e2e_base / "ns"
    paths = PrivatePaths(root / "etc-courier", root / "run-courier", root / "var-mail",
                         root / "maildroprc")
    root.mkdir(mode=0o755)
    shutil.copytree("/etc/courier", paths.etc_courier)  # the package's authdaemonrc
    courier = grp.getgrnam("courier").gr_gid
    paths.run_courier.mkdir(mode=0o775)
    os.chown(paths.run_courier, 0, courier)
    # As the package makes it: courier:courier 0750 (opened up by `authdaemon`).
    (paths.run_courier / "authdaemon").mkdir(mode=0o750)
    os.chown(paths.run_courier / "authdaemon", pwd.getpwnam("courier").pw_uid, courier)
    paths.var_mail.mkdir()
    os.chown(paths.var_mail, 0, grp.getgrnam("mail").gr_gid)
    paths.var_mail.chmod(0o2775)  # Debian's /var/mail
    paths.maildroprc.write_text(_MAILDROPRC)
    paths.maildroprc.chmod(0o644)
    for target in ("/etc/courier", "/run/courier", "/var/mail"):
        Path(target).mkdir(exist_ok=True)  # mount points
    assert Path("/etc/maildroprc").is_file(), "/etc/maildroprc (package maildrop) is missing"
    return paths


_MAILDROPRC = """\
# /etc/maildroprc of the e2e tests (a private bind mount).
# Debian's maildrop is built with DEFAULT=/var/mail/$LOGNAME for accounts
# without a mailbox in their user database; pymaildrop uses $HOME/Maildir/.
# Admins of maildrop say so here, and so do we, to compare the two.
if ($DEFAULT =~ /^\\/var\\/mail\\//)
{
    DEFAULT="$HOME/Maildir/"
}
"""


@pytest.fixture(scope="session")
def namespace(private_paths: PrivatePaths) -> Iterator[MountNamespace]:
    """Hold a mount namespace with the private paths bind-mounted; end it at the end."""
    ns = MountNamespace(private_paths.binds)
    ns.start()
    try:
        yield ns
    finally:
        ns.stop()


@dataclass
class Authdaemon:
    """Courier authdaemond running in the namespace, with our userdb."""

    ns: MountNamespace
    paths: PrivatePaths

    @property
    def socket(self) -> Path:
        return self.paths.run_courier / "authdaemon" / "socket"

    def write_userdb(self, text: str) -> None:
        """Replace /etc/courier/userdb and rebuild userdb.dat (no restart needed)."""
        userdb = self.paths.etc_courier / "userdb"
        userdb.write_text(text)
        userdb.chmod(0o600)  # makeuserdb refuses group or world permissions
        self.ns.run(["makeuserdb"])

    def pid(self) -> int | None:
        """Return the pid of courierlogger, which runs authdaemond, if it is alive."""
        return _pid_from(self.paths.run_courier / "authdaemon" / "pid")


@pytest.fixture(scope="session")
def authdaemon(namespace: MountNamespace, private_paths: PrivatePaths,
               accounts: dict[str, Account], vhosts: dict[str, VirtualUser],
               samples: Samples, agent: Agent) -> Iterator[Authdaemon]:
    """Start authdaemond (authuserdb, authpam) in the namespace; stop it at the end.

    The userdb holds samples/postfix/courier-userdb; for maildrop, which can
    only find hosted users through authdaemond, it also holds the users of
    pymaildrop's virtual tables.  The socket directory is opened up to 0755
    because pipe(8) runs the agent without supplementary groups.
    """
    rc = private_paths.etc_courier / "authdaemonrc"
    text, n = re.subn(r'(?m)^authmodulelist=.*$', 'authmodulelist="authuserdb authpam"',
                      rc.read_text())
    assert n == 1, "authmodulelist not found in the package's authdaemonrc"
    rc.write_text(text)
    daemon = Authdaemon(namespace, private_paths)
    userdb = samples.render("courier-userdb")
    if not agent.is_pymaildrop:
        userdb += "".join(_userdb_line(user, accounts["vmail"]) for user in vhosts.values()
                          if user.address not in userdb)
    daemon.write_userdb(userdb)
    (private_paths.run_courier / "authdaemon").chmod(0o755)
    namespace.run(["/usr/sbin/authdaemond", "start"])
    try:
        wait_for(daemon.socket.exists, what=f"authdaemond's socket {daemon.socket}",
                 timeout=30)
        yield daemon
    finally:
        pid = daemon.pid()
        namespace.run(["/usr/sbin/authdaemond", "stop"], check=False)
        if pid:
            _wait_exit(pid, "authdaemond")


def _userdb_line(user: VirtualUser, vmail: Account) -> str:
    return (f"{user.address}\tuid={vmail.uid}|gid={vmail.gid}|home={user.home}"
            f"|mail={user.home / 'Maildir'}\n")


# ------------------------------------------------------- samples and users


@dataclass(frozen=True)
class Configs:
    """The rendered pymaildrop configuration files (one per user database)."""

    directory: Path

    @property
    def virtual(self) -> Path:
        return self.directory / "virtual.cf"

    @property
    def authdaemon(self) -> Path:
        return self.directory / "authdaemon.cf"

    @property
    def local(self) -> Path:
        return self.directory / "local.cf"


@pytest.fixture(scope="session")
def samples(e2e_base: Path, accounts: dict[str, Account]) -> Samples:
    """Return samples/postfix/ with the sample paths and ids replaced by ours."""
    vmail = accounts["vmail"]
    return Samples(SAMPLES_DIR, [
        ("/etc/postfix/", f"{e2e_base / 'postfix-etc'}/"),
        ("/etc/pymaildrop/", f"{e2e_base / 'pymaildrop-etc'}/"),
        ("/var/mail/vhosts", str(vmail.home)),
        (f"static:{SAMPLE_VMAIL_ID}", f"static:{vmail.uid}"),
        (f"uid={SAMPLE_VMAIL_ID}|gid={SAMPLE_VMAIL_ID}", f"uid={vmail.uid}|gid={vmail.gid}"),
        ("user=vmail", f"user={vmail.name}"),
    ])


@pytest.fixture(scope="session")
def pymaildrop_configs(e2e_base: Path, samples: Samples) -> Configs:
    """Render pymaildrop.cf for each user database, plus its tables (root 0644)."""
    configs = Configs(e2e_base / "pymaildrop-etc")
    configs.directory.mkdir(mode=0o755)
    files = {
        configs.virtual: "pymaildrop.cf.virtual",
        configs.authdaemon: "pymaildrop.cf.authdaemon",
        configs.local: "pymaildrop.cf.local",
        configs.directory / "vmailbox": "pymaildrop-vmailbox",
        configs.directory / "vhomes": "pymaildrop-vhomes",
    }
    for path, sample in files.items():
        path.write_text(samples.render(sample))
        path.chmod(0o644)
    return configs


@dataclass(frozen=True)
class VirtualUser:
    """A hosted address, its home and its Maildir."""

    address: str
    home: Path

    @property
    def maildir(self) -> Maildir:
        return Maildir(self.home / "Maildir")

    def folder(self, name: str) -> Maildir:
        return Maildir(self.home / "Maildir" / f".{name}")


@pytest.fixture(scope="session")
def vhosts(accounts: dict[str, Account], samples: Samples) -> dict[str, VirtualUser]:
    """Create every hosted user's home and Maildir (owned by pmd_vmail).

    dave@example.net also gets samples/postfix/extension.mailfilter as his
    .mailfilter and the Maildir++ folder .lists it files into.
    """
    vmail = accounts["vmail"]
    users: dict[str, VirtualUser] = {}
    for address in VIRTUAL_USERS:
        local, _, domain = address.partition("@")
        home = vmail.home / domain / local
        home.parent.mkdir(mode=0o755, exist_ok=True)
        home.mkdir(mode=0o700)
        os.chown(home, vmail.uid, vmail.gid)
        _make_maildir(home / "Maildir", vmail)
        users[address] = VirtualUser(address, home)
    dave = users["dave@example.net"]
    _make_maildir(dave.home / "Maildir" / ".lists", vmail, folder=True)
    write_user_file(dave.home / ".mailfilter", samples.text("extension.mailfilter"), vmail)
    return users


def write_user_file(path: Path, text: str, owner: Account, mode: int = 0o600) -> None:
    """Write a file the way its owner would: owned by them, mode 0600."""
    path.write_text(text)
    os.chown(path, owner.uid, owner.gid)
    path.chmod(mode)


# ---------------------------------------------------------------- Postfix


@dataclass
class Postfix:
    """The running private Postfix plus what the scenarios need to know about it."""

    instance: PostfixInstance
    agent: Agent
    configs: Configs
    samples: Samples
    main_cf_base: str
    vmail_uid: int
    profile: str = ""

    def render_local(self, sample: str) -> str:
        """Render a local-delivery sample with the agent configured for passwd users."""
        return self.samples.render(sample, {SAMPLE_AGENT: self.agent.command(self.configs.local)})

    def use_profile(self, profile: str) -> None:
        """Switch main.cf to a local-delivery profile, reloading when it changes.

        "mailbox_command": samples/postfix/main.cf.local (every local user
        through the agent).  "mailbox_command_maps":
        samples/postfix/main.cf.mailbox-command-maps (only the users in the
        map; everybody else gets local(8)'s /var/mail mailbox).
        """
        if profile == self.profile:
            return
        sample = {"mailbox_command": "main.cf.local",
                  "mailbox_command_maps": "main.cf.mailbox-command-maps"}[profile]
        text = (self.main_cf_base.replace("@PROFILE@", profile)
                + (self.render_local(sample) if profile == "mailbox_command"
                   else self.samples.render(sample)))
        (self.instance.confdir / "main.cf").write_text(text)
        if self.profile:
            self.instance.reload()
        self.profile = profile

    def deliver(self, message: Message) -> LogDelivery:
        """Send a message over SMTP; return the first delivery attempt the maillog shows."""
        self.instance.send(message)
        return self.instance.attempt(self.instance.queue_id(message))

    def deliver_into(self, message: Message, maildir: Maildir) -> tuple[bytes, LogDelivery]:
        """Send a message that must be delivered; return its one stored copy and the attempt."""
        attempt = self.deliver(message)
        assert attempt.status == "sent", f"{attempt.line}\n{self.instance.log_tail()}"
        copies = maildir.with_id(message)
        assert len(copies) == 1, (f"{len(copies)} copies of {message.msgid} in {maildir.path}"
                                  f"\n{self.instance.log_tail()}")
        return copies[0], attempt


@pytest.fixture(scope="session")
def postfix(e2e_base: Path, namespace: MountNamespace, agent: Agent, samples: Samples,
            pymaildrop_configs: Configs, vhosts: dict[str, VirtualUser],
            authdaemon: Authdaemon, sender_mailbox: Path) -> Iterator[Postfix]:
    """Render, start and (always) stop the private Postfix instance.

    main.cf = templates/main.cf.in + samples main.cf.virtual + the profile's
    sample; master.cf = templates/master.cf.in + samples master.cf.pipe,
    whose recipient-form entry is also copied as "pymaildrop-auth" with the
    authdaemon configuration.  Tables are built with postmap -c CONFDIR.
    """
    instance = PostfixInstance(e2e_base, namespace, free_port())
    pf = _render_postfix(instance, agent, samples, pymaildrop_configs)
    pf.use_profile("mailbox_command")
    for table in ("vmailbox", "mailbox_commands"):
        instance.postmap(instance.confdir / table)
    instance.datadir.mkdir(mode=0o700)
    os.chown(instance.datadir, pwd.getpwnam("postfix").pw_uid, -1)
    instance.queuedir.mkdir(mode=0o755)
    try:
        instance.start()
        yield pf
    finally:
        instance.stop()


def _render_postfix(instance: PostfixInstance, agent: Agent, samples: Samples,
                    configs: Configs) -> Postfix:
    instance.confdir.mkdir(mode=0o755)
    fill = {"@CONFDIR@": instance.confdir, "@QUEUEDIR@": instance.queuedir,
            "@DATADIR@": instance.datadir, "@MAILLOG@": instance.maillog,
            "@BASEDIR@": instance.base, "@SMTPD_ADDRESS@": f"127.0.0.1:{instance.port}"}
    main_cf = _fill((TEMPLATES_DIR / "main.cf.in").read_text(), fill)
    main_cf += samples.render("main.cf.virtual")
    pipe = samples.render("master.cf.pipe", {SAMPLE_AGENT: agent.command(configs.virtual)})
    auth = master_entry(samples.render("master.cf.pipe",
                                       {SAMPLE_AGENT: agent.command(configs.authdaemon)}),
                        "pymaildrop")
    auth = auth.replace("pymaildrop ", "pymaildrop-auth ", 1)
    master_cf = _fill((TEMPLATES_DIR / "master.cf.in").read_text(), fill) + pipe
    master_cf += "# ---- the recipient form again, with pymaildrop.cf.authdaemon ----\n" + auth
    (instance.confdir / "master.cf").write_text(master_cf)
    (instance.confdir / "vmailbox").write_text(samples.render("vmailbox"))
    (instance.confdir / "mailbox_commands").write_text(samples.render(
        "mailbox_commands", {SAMPLE_MAPPED_USER: "pmd_local2",
                             SAMPLE_AGENT: agent.command(configs.local)}))
    return Postfix(instance, agent, configs, samples, main_cf,
                   vmail_uid=pwd.getpwnam("pmd_vmail").pw_uid)


def _fill(template: str, values: dict[str, object]) -> str:
    for key, value in values.items():
        template = template.replace(key, str(value))
    left = set(re.findall(r"@[A-Z_]+@", template)) - {"@PROFILE@"}
    assert not left, f"unfilled placeholders {left} in a template"
    return template


@pytest.fixture
def mta(postfix: Postfix) -> Iterator[Postfix]:
    """The session's Postfix, with an empty queue after each test."""
    yield postfix
    postfix.instance.purge()
    wait_for(lambda: not postfix.instance.queue(), what="an empty queue after the test",
             timeout=30, diagnostics=postfix.instance.log_tail)


@pytest.fixture(scope="session")
def sender_mailbox(accounts: dict[str, Account]) -> Path:
    """Return the mbox where mail to pmd_sender@local.test (the test sender) lands.

    pmd_sender's .forward names a file, so local(8) itself stores bounces
    there, whichever profile is active and whatever the agent does.
    """
    sender = accounts["pmd_sender"]
    mbox = sender.home / "bounces.mbox"
    write_user_file(sender.home / ".forward", f"{mbox}\n", sender)
    return mbox


@pytest.fixture
def make_user_file() -> Callable[[Path, str, Account], None]:
    """Return write_user_file (write a file as its owner would)."""
    return write_user_file


def pytest_report_header(config: pytest.Config) -> str:
    agent = os.environ.get(AGENT_ENV) or "pymaildrop (built from this checkout)"
    return f"pymaildrop e2e: agent = {agent}"

