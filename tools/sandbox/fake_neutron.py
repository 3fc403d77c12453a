"""Minimal Networking API stand-in, used only when real neutron-server cannot run.

Nova's server views list ports and security groups in Neutron; this answers
``GET /v2.0/<collection>`` with an empty list and ``GET /`` with a version
document, and 404s everything else. Usage: fake_neutron.py HOST PORT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server API)
        path = self.path.split("?", 1)[0].rstrip("/")
        parts = [p for p in path.split("/") if p]
        if not parts:
            host = self.headers.get("Host", "127.0.0.1")
            self._reply(
                200,
                {
                    "versions": [
                        {
                            "id": "v2.0",
                            "status": "CURRENT",
                            "links": [{"rel": "self", "href": f"http://{host}/v2.0/"}],
                        }
                    ]
                },
            )
        elif len(parts) == 2 and parts[0] == "v2.0":
            name = parts[1].removesuffix(".json").replace("-", "_")
            self._reply(200, {name: []})
        else:
            self._reply(
                404,
                {
                    "NeutronError": {
                        "type": "HTTPNotFound",
                        "message": "not provided by the sandbox stub",
                        "detail": "",
                    }
                },
            )

    def _not_found(self):
        self._reply(
            404,
            {
                "NeutronError": {
                    "type": "HTTPNotFound",
                    "message": "not provided by the sandbox stub",
                    "detail": "",
                }
            },
        )

    do_POST = do_PUT = do_DELETE = _not_found  # noqa: N815

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    ThreadingHTTPServer((host, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
