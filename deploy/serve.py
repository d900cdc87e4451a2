"""`python -m deploy.serve APP [uvicorn's flags]`: uvicorn, each worker on a listening
socket of its own (SO_REUSEPORT), so the kernel spreads new connections evenly over them.

With `uvicorn --workers N` every worker accepts from one shared socket, and uvloop accepts
everything pending in one go: whichever worker wakes first takes a burst of connections.
The bench saw 64 connections split 56/8, 60/4 and 63/1 between two workers; the busy one's
callers then queue behind many more requests than the other's, which is most of a list's
p99 and of the spread between two runs. The gateway's keep-alive pool meets the same split.
Here the supervisor binds one socket per worker on the same address and the kernel hashes
each connection to one of them. A worker that dies keeps its socket in the supervisor; its
replacement takes over the connections waiting there (uvicorn restarts it at once).

The flags are the subset of uvicorn's the launcher and the image use, with their meaning.
One worker is plain uvicorn.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("uvicorn.error")


class SpreadWorkers(Multiprocess):
    """uvicorn's supervisor, worker `i` serving `sockets[i]` only (its restarts too)."""

    def _process(self, index: int) -> Process:
        return Process(self.config, [self.sockets[index]])

    def handle_ttin(self) -> None:
        """uvicorn adds a worker on SIGTTIN; here a worker has a socket, so the count is fixed
        (`--workers`, ZONE_WORKERS) and a new worker comes with a restart."""
        logger.warning("SIGTTIN ignored: the workers are fixed at %d", self.processes_num)

    def handle_ttou(self) -> None:
        """uvicorn stops a worker on SIGTTOU; its socket would keep taking connections that
        no one accepts, so the count stays."""
        logger.warning("SIGTTOU ignored: the workers are fixed at %d", self.processes_num)

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = self._process(index)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        """On SIGHUP: each worker replaced by a new one on its socket, one after another."""
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._process(index)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                self.should_exit.set()  # the app cannot start: restarting would fail alike
                return
            if self.should_exit.is_set():
                return
            replacement = self._process(index)
            replacement.start()
            self.processes[index] = replacement


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to one address, each to be listened on by one worker.

    SO_REUSEPORT would also let them join a server already on the address (a second stack
    started by mistake) and share its traffic: a plain bind first fails if anyone is there.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))  # OSError (address in use) if the port is taken
    sockets = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def parse(argv: list[str]) -> argparse.Namespace:
    """uvicorn's flags, as the launcher and the image pass them."""
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__)
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--timeout-keep-alive", type=int, default=5)
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=None)
    parser.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--forwarded-allow-ips", default=None)
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    """Serve the app: plainly with one worker, else each worker on its own socket."""
    args = parse(argv)
    config = uvicorn.Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        http=args.http,
        access_log=args.access_log,
        timeout_keep_alive=args.timeout_keep_alive,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    if args.workers <= 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:  # as uvicorn's command: the app could not start
            sys.exit(STARTUP_FAILURE)
        return
    try:
        sockets = listening_sockets(args.host, args.port, args.workers)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    print(
        f"serving {args.app} on {args.host}:{args.port}, {args.workers} workers, one socket each",
        file=sys.stderr,
    )
    SpreadWorkers(config, sockets).run()


if __name__ == "__main__":
    main(sys.argv[1:])
