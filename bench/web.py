"""Web benchmark: concurrent operators reading cards and selling through the web pages.

One ``prepaid serve`` (the station's web server: gunicorn, a few worker processes with a few
threads each) on SQLite in a temporary data directory, on a free localhost port. Each client
is an operator with a browser session doing what the sale screen does, request by request, as
fast as it can (no think time):

    GET  /vending/sell/              the sale screen
    POST /vending/sell/ read         读卡: the customer and the card
    POST /vending/quote/             the live quote (htmx)
    POST /vending/sell/ review       confirm
    POST /vending/sell/ write        写卡 (302) …
    GET  /vending/purchases/N/       … 写卡成功
    POST /simulator/M/swipe/         the customer swipes the card on the meter (302) …
    GET  /simulator/M/               … the meter's display
    GET  /reader/                    the reader panel (htmx)

A virtual reader holds one card per data directory, so the server runs with
``PREPAID_WEB_CARD_STORE=per-operator``: every operator has a card store and reader of their
own (as trainees in a classroom sharing one server), and the clients sell concurrently.
Accounts, customers, cards and meters are set up through the services before the server
starts. Prints latency percentiles (all requests and per step) and requests per second;
asserts nothing about time (target: p95 ≤ 50 ms). Then, as a same-run baseline, the floor of
the server itself: the same clients, logged in, asking as fast as they can for the smallest
thing it serves (``/favicon.ico``: every middleware — session, operator, CSRF — and a view that
does nothing), so that what the pages add can be told from what 20 clients with no think time
cost on this machine whatever the page. ``BENCH_PROFILE_SERVER=FILE`` profiles
every request the server handles (``PREPAID_SERVE_PROFILE``) and merges the workers' profiles
into FILE; ``PREPAID_WEB_WORKERS`` and ``PREPAID_WEB_THREADS`` pass through to the server.

    .venv/bin/python bench/web.py [--clients 20] [--seconds 20] [--think-ms 0]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

PASSWORD = "Bench-pass-2025"


def setup(home: Path, clients: int) -> list[dict[str, str]]:
    """The office: one water account and price; per client an operator, a customer opened on
    a card in the operator's own card store, and a meter set and bound to that card."""
    os.environ["PREPAID_HOME"] = str(home)
    os.environ["PREPAID_WEB_CARD_STORE"] = "per-operator"
    os.environ["DJANGO_SETTINGS_MODULE"] = "prepaid.settings"
    import django

    django.setup()
    from prepaid.accounts.services import add_price, create_account
    from prepaid.cards.services import format_card, make_tool_card
    from prepaid.core.card import codec
    from prepaid.customers.services import register_customer
    from prepaid.home import DataHome
    from prepaid.operators.models import Operator
    from prepaid.operators.services import add_operator, change_password
    from prepaid.readers.virtual import CardStore, VirtualReader
    from prepaid.setup import initialise
    from prepaid.vending.services import Station, open_account
    from prepaid.web import simulator

    data = DataHome(home)
    initialise(data, admin_password=PASSWORD)
    admin = Operator.objects.get(username="admin")
    site_key = data.load_secrets().card_key
    account = create_account(
        admin,
        meter_type="water",
        sub_meter=1,
        limit="9999999",
        prestore="0",
        alarm="1",
        overdraft="0",
        maintenance_code="1",
    )
    price = add_price(admin, account_id=account.pk, name="居民用水", unit_price="3.45")
    people = []
    for index in range(clients):
        operator = add_operator(admin, f"bench{index}", "operator", "First-" + PASSWORD)
        # the password an administrator gives is changed by the operator before use
        operator = change_password(operator, operator.username, PASSWORD)
        store = CardStore(data.cards / "operators" / str(operator.pk))
        store.root.mkdir(parents=True)
        station = Station(admin, VirtualReader(store), site_key, "bench")
        meter = f"M{index}"
        simulator.add(meter)
        store.create("setting", codec.blank_image())
        store.insert("setting")
        make_tool_card(station, "setting", account)
        assert simulator.swipe(meter, station).outcome.ok
        store.create("user", codec.blank_image())
        store.insert("user")
        format_card(station)
        customer = register_customer(admin, name=f"用户{index}")
        open_account(station, customer, account, price, quantity="1", key=f"open-{index}")
        assert simulator.swipe(meter, station).outcome.ok
        people.append(
            {
                "operator": operator.username,
                "meter": meter,
                "customer": customer.user_number,
                "account": str(account.pk),
            }
        )
    return people


class Browser:
    """One operator's browser: cookies, CSRF token, timed requests."""

    def __init__(self, port: int, timings: dict[str, list[float]]) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.timings = timings

    def request(
        self,
        step: str,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        htmx: bool = False,
    ) -> tuple[int, str, str]:
        body = urlencode(form or {}).encode() if form is not None else None
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Host": f"127.0.0.1:{self.port}",
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.token
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        if htmx:
            headers["HX-Request"] = "true"
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        self.timings[step].append(time.perf_counter() - start)
        connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if found:
            self.token = found.group(1)
        return response.status, response.getheader("Location") or "", text

    def login(self, name: str) -> None:
        self.request("login", "GET", "/login/")
        status, _location, _ = self.request(
            "login",
            "POST",
            "/login/",
            {"username": name, "password": PASSWORD, "csrfmiddlewaretoken": self.token},
        )
        assert status == 302, "login failed"
        self.request("home", "GET", "/")  # the token rotates at login


def sell_once(browser: Browser, person: dict[str, str]) -> None:
    account, meter = person["account"], person["meter"]
    browser.request("sale screen", "GET", "/vending/sell/")
    status, _, page = browser.request("read card", "POST", "/vending/sell/", {"action": "read"})
    key = re.search(r'name="key" value="([0-9a-f]{32})"', page)
    assert status == 200 and key, "read failed: " + " ".join(
        re.findall(r'data-code="([^"]+)"', page)
    )
    sale = {
        "key": key.group(1),
        "account": account,
        "quantity": "1",
        "amount": "",
        "basis": "quantity",
        "payment": "cash",
    }
    browser.request(
        "live quote",
        "POST",
        "/vending/quote/",
        {"mode": "sale", "customer": person["customer"], **sale},
        htmx=True,
    )
    status, _, page = browser.request(
        "review", "POST", "/vending/sell/", {**sale, "action": "review"}
    )
    assert 'data-testid="confirm"' in page, "review failed"
    confirmed = re.search(r'name="confirmed" value="([^"]+)"', page)
    assert confirmed, "the confirm step posts back no confirmation"
    status, location, _ = browser.request(
        "write card",
        "POST",
        "/vending/sell/",
        {**sale, "action": "write", "confirmed": confirmed.group(1)},
    )
    assert status == 302 and "/purchases/" in location, "write failed"
    browser.request("write success", "GET", location)
    status, location, _ = browser.request("meter swipe", "POST", f"/simulator/{meter}/swipe/", {})
    browser.request("meter display", "GET", location)
    browser.request("reader panel", "GET", "/reader/", htmx=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("prepaid serve exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("prepaid serve did not start")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server and its worker processes have used: the
    load-independent cost (workers are not restarted during a run)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that has just ended
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # the server or a worker
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def merge_profiles(home: Path, target: Path) -> None:
    """One profile of every worker's requests."""
    import pstats

    parts = sorted(home.glob("profile.*"))
    if not parts:
        print("no server profile was written")
        return
    stats = pstats.Stats(str(parts[0]))
    for part in parts[1:]:
        stats.add(str(part))
    stats.dump_stats(str(target))
    print(f"server profile ({len(parts)} workers): {target}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="pause between a client's requests (an operator typing)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prepaid-bench-web-") as tmp:
        home = Path(tmp)
        print(f"setting up {args.clients} operators, customers, cards and meters …", flush=True)
        people = setup(home, args.clients)
        port = _free_port()
        env = {
            **os.environ,
            "PREPAID_HOME": str(home),
            "PREPAID_READER": "virtual",
            "PREPAID_WEB_CARD_STORE": "per-operator",
            "PREPAID_STATION": "bench",
        }
        env.pop("DATABASE_URL", None)
        profile = os.environ.get("BENCH_PROFILE_SERVER")  # a file for the server's profile
        if profile:
            env["PREPAID_SERVE_PROFILE"] = str(home / "profile")
        server = subprocess.Popen(
            [sys.executable, "-m", "prepaid", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port, server)
            before = cpu_seconds(server.pid)
            result = run(port, people, args.seconds, args.think_ms / 1000)
            report(result, args, cpu_seconds(server.pid) - before)
            before = cpu_seconds(server.pid)
            floor = run_floor(port, people, min(args.seconds, 10.0), args.think_ms / 1000)
            report_floor(floor, cpu_seconds(server.pid) - before)
        finally:
            server.send_signal(signal.SIGINT)  # serve stops cleanly (and writes its profile)
            server.wait(timeout=30)
        if profile:
            merge_profiles(home, Path(profile))


def _logged_in(port: int, people: list[dict[str, str]]) -> list[Browser]:
    browsers = []
    for person in people:
        browser = Browser(port, defaultdict(list))
        browser.login(person["operator"])
        browsers.append(browser)
    return browsers


def _race(
    threads: list[threading.Thread],
    start_line: threading.Barrier,
    stop_at: list[float],
    seconds: float,
) -> float:
    """Start the clients together, let them run for ``seconds``: the time they took."""
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start_line.wait()
    for thread in threads:
        thread.join()
    return time.monotonic() - began


def run(
    port: int, people: list[dict[str, str]], seconds: float, think: float
) -> tuple[dict[str, list[float]], float, int, list[str]]:
    timings: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    sales = [0]
    failures: list[str] = []
    browsers = _logged_in(port, people)
    start_line = threading.Barrier(len(people) + 1)
    stop_at = [0.0]

    def client(browser: Browser, person: dict[str, str], phase: float) -> None:
        if think:
            original = browser.request

            def paced(*a: object, **k: object) -> tuple[int, str, str]:
                time.sleep(think)
                return original(*a, **k)  # type: ignore[arg-type]

            browser.request = paced  # type: ignore[method-assign]
        start_line.wait()
        time.sleep(phase)  # operators do not all press a key at the same instant
        while time.monotonic() < stop_at[0]:
            try:
                sell_once(browser, person)
            except (AssertionError, OSError) as exc:
                with lock:
                    failures.append(str(exc))
                continue
            with lock:
                sales[0] += 1

    threads = [
        threading.Thread(target=client, args=(b, p, think * i / len(people)))
        for i, (b, p) in enumerate(zip(browsers, people, strict=True))
    ]
    elapsed = _race(threads, start_line, stop_at, seconds)
    for browser in browsers:
        for step, values in browser.timings.items():
            if step not in ("login", "home"):
                timings[step].extend(values)
    return timings, elapsed, sales[0], failures


def run_floor(
    port: int, people: list[dict[str, str]], seconds: float, think: float
) -> tuple[list[float], float]:
    """The same clients asking for ``/favicon.ico`` as fast as they can: the latencies and
    the elapsed time."""
    browsers = _logged_in(port, people)
    start_line = threading.Barrier(len(browsers) + 1)
    stop_at = [0.0]

    def client(browser: Browser) -> None:
        start_line.wait()
        while time.monotonic() < stop_at[0]:
            time.sleep(think)
            browser.request("floor", "GET", "/favicon.ico")

    threads = [threading.Thread(target=client, args=(b,)) for b in browsers]
    elapsed = _race(threads, start_line, stop_at, seconds)
    return [v for b in browsers for v in b.timings["floor"]], elapsed


def report_floor(floor: tuple[list[float], float], server_cpu: float) -> None:
    values, elapsed = floor
    ms = 1000.0
    print(
        f"\nfloor, the same clients on /favicon.ico (every middleware, a view doing nothing): "
        f"{len(values) / elapsed:.1f} req/s, p50 {percentile(values, 50) * ms:.1f} ms, "
        f"p95 {percentile(values, 95) * ms:.1f} ms, p99 {percentile(values, 99) * ms:.1f} ms; "
        f"server CPU {server_cpu / max(1, len(values)) * ms:.1f} ms per request"
    )


def report(
    result: tuple[dict[str, list[float]], float, int, list[str]],
    args: argparse.Namespace,
    server_cpu: float,
) -> None:
    timings, elapsed, sales, failures = result
    every = [value for values in timings.values() for value in values]
    ms = 1000.0
    print(
        f"\n{args.clients} clients, {elapsed:.1f} s, think time {args.think_ms:g} ms, "
        f"SQLite (WAL, synchronous=FULL), one `prepaid serve`"
    )
    print(
        f"requests: {len(every)}  ({len(every) / elapsed:.1f} req/s)   "
        f"sales completed: {sales}  ({sales / elapsed:.1f} sales/s)   "
        f"failures: {len(failures)}"
    )
    print(
        f"latency, all requests: p50 {percentile(every, 50) * ms:.1f} ms   "
        f"p95 {percentile(every, 95) * ms:.1f} ms   p99 {percentile(every, 99) * ms:.1f} ms   "
        f"mean {statistics.fmean(every) * ms:.1f} ms   (target p95 ≤ 50 ms)"
    )
    print(
        f"server CPU: {server_cpu:.1f} s = {server_cpu / len(every) * ms:.1f} ms per request "
        f"(all its processes; machine load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs)"
    )
    print(f"\n{'step':<16}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for step, values in timings.items():
        print(
            f"{step:<16}{len(values):>7}{percentile(values, 50) * ms:>9.1f}"
            f"{percentile(values, 95) * ms:>9.1f}{percentile(values, 99) * ms:>9.1f}"
        )
    for failure in sorted(set(failures))[:5]:
        print("failure:", failure)


if __name__ == "__main__":
    main()
