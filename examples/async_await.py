"""The chapter's "async/await Comparison", ported: asyncio beside a fearless port of tokio.

The chapter's Python:

    async def fetch_url(session, url):
        async with session.get(url) as resp:
            return await resp.text()

    async def main():
        urls = ["https://example.com", "https://httpbin.org/get"]
        async with aiohttp.ClientSession() as session:
            tasks = [fetch_url(session, url) for url in urls]
            results = await asyncio.gather(*tasks)
        for url, result in zip(urls, results):
            print(f"{url}: {len(result)} bytes")

    # Python async is single-threaded (still GIL)!

and its Rust:

    async fn fetch_url(url: &str) -> Result<String, reqwest::Error> {
        reqwest::get(url).await?.text().await
    }
    let tasks: Vec<_> = urls.iter()
        .map(|url| tokio::spawn(fetch_url(url)))  // No GIL limitation
        .collect();
    let results = futures::future::join_all(tasks).await;
    for (url, result) in urls.iter().zip(results) {
        match result {
            Ok(Ok(body)) => println!("{url}: {} bytes", body.len()),
            Ok(Err(e)) => println!("{url}: error {e}"),
            Err(e) => println!("{url}: task failed {e}"),
        }
    }

No network is needed: the program starts a small HTTP server on
127.0.0.1 (``http.server.ThreadingHTTPServer`` on a free port, in a
thread) with an index page, a ``/get`` like httpbin's, a ``/missing``
that answers 404 and a ``/slow`` that answers only when told to; it shuts
the server down at the end. The port changes from run to run, so URLs are
printed without it.

**asyncio.** aiohttp is not in the standard library, so ``fetch_url`` speaks
a minimal HTTP/1.1 GET over ``asyncio.open_connection``: real non-blocking
I/O on the event loop, one thread for every fetch, which is the chapter's
point. (``asyncio.to_thread(urllib.request.urlopen, ...)`` would hide a
thread pool behind the coroutine and blur that point; it is the fearless
half's job to use threads.)

**fearless, tokio's shape.** Each fetch is a blocking ``urllib.request``
call on its own fearless thread (``spawn``, tokio's ``spawn``); each task
sends its ``(url, result)`` into an ``mpsc`` channel and a coroutine
reads the channel with ``async for`` — the channel is the bridge between
threads and the event loop, which never blocks. ``fetch_url`` returns a
``Result`` (``Ok(body)`` or ``Err(error)`` for network and HTTP errors,
as ``reqwest::Error``; urllib raises for a 404, as reqwest's
``error_for_status()`` would). An exception that escapes a task is
tokio's panic: the thread ends, ``JoinHandle.join()`` re-raises it, and
that is the outer ``Err``. So the results are matched exactly like
tokio's: ``Ok(Ok(body))``, ``Ok(Err(e))`` for the 404, ``Err(e)`` for the
task whose URL has an unquoted space in its query (a bug: ``urlopen``
rejects it with ``http.client.InvalidURL``, which ``fetch_url`` does not
expect). They are printed in the order of ``urls`` (join_all's order), not
in the order they arrived. While one thread is blocked on ``/slow``, the
event loop keeps running: it hears from the server through another channel
(``recv_async``) and lets ``/slow`` answer — were the loop blocked, as a
blocking call inside a coroutine would block it, ``/slow`` would never
answer.

Running CPU-bound work in parallel — tokio's other half — is
``par_map``/``spawn``'s job, shown in the chapter's other sections.
Every wait here is bounded: timeouts on the sockets, on ``urlopen``, on
the coroutines, on the joins and on the server's wait.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from fearless import spawn
from fearless.mpsc import Sender, channel

T = TypeVar("T")
TIMEOUT = 30.0  # the bound on every wait

# -- the local server --------------------------------------------------------------------

INDEX = (
    b"<!doctype html>\n<html>\n<head><title>Example Domain</title></head>\n<body>\n"
    b"<h1>Example Domain</h1>\n"
    b"<p>This domain is for use in examples; this copy is served on 127.0.0.1.</p>\n"
    b"</body>\n</html>\n"
)
GET = json.dumps(
    {"args": {}, "headers": {"Host": "127.0.0.1"}, "url": "http://127.0.0.1/get"}, indent=2
).encode()
SLOW = b"worth the wait\n" * 64
PAGES = {"/": INDEX, "/get": GET, "/slow": SLOW}


class LocalServer(ThreadingHTTPServer):
    """The test server, with what ``/slow`` needs: a channel to say it waits, and a gate."""

    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.slow_waiting, self.slow_requests = channel[str]()
        self.release = threading.Event()


class Handler(BaseHTTPRequestHandler):
    server: LocalServer
    timeout = TIMEOUT  # the socket's

    def do_GET(self) -> None:
        if self.path == "/slow":
            self.server.slow_waiting.send(self.path)  # "a request is waiting here"
            if not self.server.release.wait(TIMEOUT):
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, "nobody released /slow")
                return
        body = PAGES.get(self.path)
        if body is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json" if self.path == "/get" else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep stderr quiet


@contextmanager
def serving() -> Iterator[LocalServer]:
    server = LocalServer()
    thread = spawn(server.serve_forever, 0.05)
    try:
        yield server
    finally:
        server.shutdown()  # serve_forever returns within its 0.05 s poll
        thread.join(timeout=TIMEOUT)
        server.server_close()  # joins the handler threads
        server.slow_waiting.close()


def port_of(server: LocalServer) -> int:
    return int(server.server_address[1])


def shown(text: str, port: int) -> str:
    """URLs and messages without the random port, so the output is the same every run."""
    return text.replace(f":{port}", "")


# -- the chapter's asyncio version -----------------------------------------------------------

loop_threads: set[int] = set()


async def fetch_url(url: str) -> str:
    """``session.get(url)`` + ``resp.text()``: a minimal HTTP/1.1 GET on asyncio streams."""
    loop_threads.add(threading.get_ident())
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        writer.write(f"{request}Connection: close\r\n\r\n".encode("ascii"))
        await writer.drain()
        response = await reader.read()  # until the server closes: Connection: close
    finally:
        writer.close()
        await writer.wait_closed()
    _head, _, body = response.partition(b"\r\n\r\n")
    return body.decode()


async def asyncio_main(base: str, port: int) -> None:
    urls = [f"{base}/", f"{base}/get"]
    async with asyncio.timeout(TIMEOUT):
        tasks = [fetch_url(url) for url in urls]
        results = await asyncio.gather(*tasks)
    for url, result in zip(urls, results, strict=True):
        print(f"{shown(url, port)}: {len(result):,} bytes")
    print(f"  every fetch ran on one thread, the event loop's: {len(loop_threads) == 1}")


# -- the fearless port of the tokio version ---------------------------------------------------


@dataclass(frozen=True)
class Ok(Generic[T]):
    """Rust's ``Ok(value)``."""

    value: T


@dataclass(frozen=True)
class Err:
    """Rust's ``Err(error)``."""

    error: BaseException


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy


def fetch_url_blocking(url: str) -> Ok[bytes] | Err:
    """``reqwest::get(url).await?.text().await``, blocking the thread that calls it."""
    try:
        with OPENER.open(url, timeout=TIMEOUT) as response:
            body: bytes = response.read()
            return Ok(body)
    except urllib.error.HTTPError as e:  # a 404 and friends: reqwest's error_for_status()
        e.close()
        return Err(e)
    except urllib.error.URLError as e:  # connection errors: reqwest::Error
        return Err(e)


def task(results: Sender[tuple[str, Ok[bytes] | Err]], url: str) -> None:
    """One ``tokio::spawn(fetch_url(url))``: fetch, send the result, drop the sender."""
    with results:  # closed when the task ends, even by an exception
        results.send((url, fetch_url_blocking(url)))


async def release_slow(server: LocalServer) -> None:
    """Runs on the event loop while a fetch thread is blocked on ``/slow``."""
    await server.slow_requests.recv_async()  # the server: "a request for /slow is waiting"
    server.release.set()


def report(url: str, joined: Ok[Ok[bytes] | Err] | Err, port: int) -> None:
    match joined:
        case Ok(Ok(body)):
            print(f"{url}: {len(body):,} bytes")
        case Ok(Err(e)):
            print(f"{url}: error {shown(str(e), port)}")
        case Err(e):
            print(f"{url}: task failed {type(e).__name__}: {shown(str(e), port)}")


async def fearless_main(server: LocalServer, base: str, port: int) -> None:
    urls = [f"{base}/", f"{base}/get", f"{base}/missing", f"{base}/slow", f"{base}/get?q=a b"]
    tx, rx = channel[tuple[str, Ok[bytes] | Err]]()
    handles = {url: spawn(task, tx.clone(), url) for url in urls}  # tokio::spawn
    tx.close()  # the tasks hold the only senders now
    async with asyncio.timeout(TIMEOUT):
        released = asyncio.create_task(release_slow(server))
        arrived = [(url, result) async for url, result in rx]  # until every task is done
        await released
    finished = dict(arrived)
    for url in urls:  # join_all's order, not the order of arrival
        try:
            handles[url].join(timeout=TIMEOUT)  # done: its sender is gone
        except Exception as e:  # the task raised: tokio's JoinError
            joined: Ok[Ok[bytes] | Err] | Err = Err(e)
        else:
            joined = Ok(finished[url])
        report(shown(url, port), joined, port)
    print(
        "  /slow's thread stayed blocked in urlopen until the event loop, still running, "
        "heard from the server (recv_async) and released it"
    )


def main() -> None:
    with serving() as server:
        port = port_of(server)
        base = f"http://127.0.0.1:{port}"
        print("serving on http://127.0.0.1:<a free port> (URLs below are shown without it)")
        print("asyncio: gather() of coroutines on one event loop")
        asyncio.run(asyncio_main(base, port))
        print("fearless: blocking fetches on spawned threads, a coroutine reads their channel")
        asyncio.run(fearless_main(server, base, port))


if __name__ == "__main__":
    main()
