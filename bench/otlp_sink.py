"""An OTLP/HTTP receiver that accepts and discards spans: `BENCH_TRACING=1` points the
bench stack's exporters at it, so the figures include what tracing costs the platform (its
own process, outside the stack's tree, like a collector)."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from deploy.processes import free_port


class _Discard(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def start() -> tuple[subprocess.Popen[bytes], str]:
    """The sink in its own process, and the endpoint to export to."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", str(port)])
    return process, f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Discard).serve_forever()
