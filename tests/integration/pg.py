"""A throwaway PostgreSQL server for the tests (Debian's postgresql 15),
started through tests/integration/pg.sh in a folder of its own on a free
port, as the `postgres` system user when the tests run as root.

    from pg import PgServer, pg_server     # pg_server: a pytest fixture

    srv = PgServer().start()
    uri = srv.createdb("mylog")             # postgresql://postgres@127.0.0.1:PORT/mylog
    srv.query(uri, "SELECT COUNT(*) FROM runs")   # -> "42"
    srv.stop()

`pg_server` is one server for the test session (per xdist worker); a test
that stops or kills its server starts a PgServer of its own."""
import os
import shutil
import subprocess

import pytest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SH = os.path.join(HERE, "pg.sh")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


free_port = harness.free_port


def available():
    """True when Debian's PostgreSQL server binaries are installed."""
    return os.access(os.path.join(PG_BIN, "pg_ctl"), os.X_OK) and shutil.which("psql")


class PgServer:
    def __init__(self, options="-c fsync=off -c synchronous_commit=off"):
        # In the test session's folder: what is left there is reaped at its end.
        self.dir = harness.new_folder("pg")
        self.port = None
        self.base = None
        self.options = options

    def _sh(self, *args, check=True):
        env = dict(os.environ, PG_OPTS=self.options, PG_BIN=PG_BIN)
        return subprocess.run([PG_SH] + list(args), capture_output=True, text=True,
                              env=env, check=check)

    def start(self):
        """Starts it (again, on the same port, after stop()); returns self.
        A port taken meanwhile by something else is given up for another."""
        for _ in range(5):
            if self.port is None:
                self.port = free_port()
            r = self._sh("start", self.dir, str(self.port), check=False)
            if r.returncode == 0:
                self.base = r.stdout.strip()
                return self
            if "Address already in use" not in r.stderr:
                raise RuntimeError("pg.sh start: " + r.stderr)
            self.port = None
        raise RuntimeError("pg.sh start: no free port")

    def stop(self, how="stop"):
        """Stops it: "stop" (fast: connections ended) or "kill" (immediate)."""
        self._sh(how, self.dir)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def uri(self, dbname):
        return self.base + dbname

    def createdb(self, name):
        """Makes database name (dropped first when there); returns its URI."""
        self._sh("createdb", self.dir, str(self.port), name)
        return self.uri(name)

    def query(self, uri, sql):
        """Runs sql with psql; its output, unaligned, tuples only."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", uri,
                            "-c", sql], capture_output=True, text=True, check=True)
        return r.stdout.strip()


@pytest.fixture(scope="session")
def pg_server():
    if not available():
        pytest.fail("PostgreSQL 15 is not installed (fcgi/deps.sh --test installs it)")
    srv = PgServer().start()
    yield srv
    srv.remove()
