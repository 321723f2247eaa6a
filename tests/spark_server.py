"""A Spark Connect server in local mode for the engine tests (SPEC §6, issue #15).

The server is the one of the ``pyspark`` wheel (``spark-submit --class ...SparkConnectServer``):
a real Spark application that every notebook kernel of a run connects to over gRPC, as they
would to a cluster's Spark Connect endpoint. Its session time zone is deliberately not the
run's, so a test proves the results do not depend on it.

Requires Java 17+: without it the tests FAIL with a message (no silent skip).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

#: the server's session time zone: neither UTC nor the sources' Asia/Shanghai
SERVER_TIMEZONE = "America/Los_Angeles"


def java_or_fail() -> str:
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else None
    java = java if java and os.path.exists(java) else shutil.which("java")
    if java is None:
        pytest.fail(
            "SPEC §6 Spark proof: no Java runtime found (install a JDK 17+, e.g. "
            "`apt-get install openjdk-17-jre-headless`, or set JAVA_HOME)",
            pytrace=False,
        )
    return java


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SparkConnectServer:
    """``with SparkConnectServer(folder) as url:`` — a local server; ``url`` is ``sc://...``."""

    def __init__(self, folder: Path, *, cores: int = 2, memory: str = "2g"):
        self.folder = Path(folder)
        self.cores = cores
        self.memory = memory
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        java_or_fail()
        import pyspark

        home = Path(pyspark.__file__).parent
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - closed in __exit__
        self._log = log
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.sql.session.timeZone": SERVER_TIMEZONE,
            "spark.sql.warehouse.dir": str(self.folder / "warehouse"),
            # small data: a few partitions instead of 200 per shuffle
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.ui.enabled": "false",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.folder}",
        }
        cmd = [
            str(home / "bin" / "spark-submit"),
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--master",
            f"local[{self.cores}]",
            "--driver-memory",
            self.memory,
        ]
        for k, v in conf.items():
            cmd += ["--conf", f"{k}={v}"]
        cmd.append("spark-internal")
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.url
            time.sleep(0.5)
        self.__exit__(None, None, None)
        tail = (self.folder / "server.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"the Spark Connect server did not start:\n{tail}", pytrace=False)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()


def register(
    url: str,
    folder: Path,
    database: str,
    *,
    timezone: str = "Asia/Shanghai",
    instants: Iterable[str] = ("events", "orders"),
) -> dict[str, list[tuple[str, str]]]:
    """Register the CSV/Parquet tables of ``folder`` as Spark tables ``database.<table>``.

    Timestamps of the ``instants`` tables become Spark ``TIMESTAMP`` (instants, as a warehouse
    holds them: the local wall-clock times of the files read in ``timezone``); the others stay
    ``TIMESTAMP_NTZ`` (wall-clock time). Returns each table's Spark column types.
    """
    import duckdb
    from pyspark.sql.connect.session import SparkSession  # not the generic builder

    parquet = Path(folder) / "_parquet"
    parquet.mkdir(exist_ok=True)
    raw = duckdb.connect()
    names = []
    for f in sorted(Path(folder).iterdir()):
        name = f.name.split(".")[0]
        if f.suffix in (".csv", ".gz", ".parquet") and f.is_file():
            raw.execute(f"COPY (SELECT * FROM '{f}') TO '{parquet / (name + '.parquet')}'")
            names.append(name)
    raw.close()
    spark = SparkSession.builder.remote(url).getOrCreate()
    # the session that writes reads wall-clock times in the source's zone
    spark.conf.set("spark.sql.session.timeZone", timezone)
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    types = {}
    for name in names:
        df = spark.read.parquet(str(parquet / f"{name}.parquet"))
        if name in set(instants):
            for col, ty in df.dtypes:
                if ty == "timestamp_ntz":
                    df = df.withColumn(col, df[col].cast("timestamp"))
        df.write.mode("overwrite").saveAsTable(f"{database}.{name}")
        types[name] = spark.table(f"{database}.{name}").dtypes
    return types
