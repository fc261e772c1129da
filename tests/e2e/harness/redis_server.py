"""A real redis-server on a free loopback port, for the tests of Redis tables."""
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port, for one test class."""

    def __init__(self, extra_args=()):
        self.port = free_port()
        self.process = None
        self.extra_args = list(extra_args)

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--loglevel", "warning", *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def mget_calls(self):
        """How many MGET commands the server has run (INFO commandstats)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
            c.sendall(b"INFO commandstats\r\n")
            data = b""
            while True:  # a bulk string: $<length>\r\n<text>\r\n
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
                header, sep, body = data.partition(b"\r\n")
                if sep and len(body) >= int(header[1:]) + 2:
                    break
        for line in data.decode().splitlines():
            if line.startswith("cmdstat_mget:"):
                return int(line.split("calls=")[1].split(",")[0])
        return 0

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"
