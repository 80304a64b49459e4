#!/usr/bin/python3
"""otlp-sink: an OTLP/HTTP endpoint for benchmarks that accepts everything.

Reads each POST body whole, answers 200 with an empty
ExportMetricsServiceResponse (an empty body, in either encoding), and
appends "<body bytes> <content-type> <content-encoding>" for each request to
LOG, so the benchmark can add up the bytes on the wire. It decodes nothing:
the tests check the encoding (tests/helpers/otlp-receiver.js).

usage: otlp-sink.py LOG   (prints "listening on 127.0.0.1:PORT" on stderr)
"""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep the connection, as the exporter does

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        with open(sys.argv[1], "a") as log:
            log.write("%d %s %s\n" % (length, self.headers.get("Content-Type", "-"),
                                      self.headers.get("Content-Encoding", "identity")))
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/x-protobuf"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
print("listening on 127.0.0.1:%d" % server.server_address[1], file=sys.stderr, flush=True)
server.serve_forever()
