"""Client threads for the e2e tests that put a server under load, and that
see every failure.

A bare `threading.Thread` whose request raises (a reset connection, a
timeout, a malformed response) dies with a traceback on stderr and is never
counted, so a test that only looks at the answers the surviving clients
collected passes whatever happened to the others. `LoadClients` runs each
client in a thread that records what the client yields and turns any
exception, and any client still running when it should have finished, into a
failure that `check` reports:

    def client(index, stop):          # a generator: one record per request
        conn = server.connection()
        try:
            while not stop.is_set():
                yield server.infer("m", body, conn=conn)
        finally:
            conn.close()

    with LoadClients(8, client) as load:
        ...                           # change the server under load
    load.check(self)                  # fails on any client's exception
    statuses = [r[0] for r in load.records()]

A client that does a fixed amount of work ignores `stop`; `wait()` joins it.
"""
import threading
import time
import traceback


class LoadClients:
    def __init__(self, count, client, join_timeout=60):
        self.count = count
        self.client = client
        self.join_timeout = join_timeout
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.errors = []        # (client index, description), in order
        self.by_client = [[] for _ in range(count)]  # (monotonic time, record)
        self.threads = []
        self.finished = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        for index in range(self.count):
            thread = threading.Thread(target=self._run, args=(index,),
                                      name=f"load-client-{index}", daemon=True)
            self.threads.append(thread)
            thread.start()
        return self

    def _run(self, index):
        records = self.by_client[index]
        try:
            for record in self.client(index, self.stop_event):
                records.append((time.monotonic(), record))
        except BaseException:  # noqa: B902 -- every failure counts
            with self.lock:
                self.errors.append((index, traceback.format_exc()))

    def stop(self):
        """Tells the clients to stop and joins them."""
        self.stop_event.set()
        self.wait()

    def wait(self):
        """Joins the clients; one still running after the timeout is a failure."""
        if self.finished:
            return
        deadline = time.monotonic() + self.join_timeout
        for index, thread in enumerate(self.threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                with self.lock:
                    self.errors.append((index, "still running %.0f s after it was told to "
                                               "stop" % self.join_timeout))
        self.finished = True

    def records(self):
        """Every client's records in time order, as (time, record)."""
        return sorted((r for rs in self.by_client for r in rs), key=lambda r: r[0])

    def check(self, test, min_records_per_client=1):
        """Fails `test` when a client raised, hung, or recorded too little."""
        self.wait()
        messages = [f"client {index}: {error}" for index, error in self.errors]
        failed = {index for index, _ in self.errors}
        for index, records in enumerate(self.by_client):
            if len(records) < min_records_per_client:
                failed.add(index)
                messages.append(f"client {index} recorded {len(records)} answers "
                                f"(fewer than {min_records_per_client})")
        if messages:
            test.fail(f"{len(failed)} of {self.count} load clients failed:\n"
                      + "\n".join(messages))
