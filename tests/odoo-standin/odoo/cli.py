"""What the image tests need of odoo-bin: config, addons path, data dir, /web/health."""

import argparse
import configparser
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polib  # noqa: F401  (proves the builder's wheels reached the runtime)
import psycopg2  # noqa: F401  (compiled in the builder; its libpq comes with the runtime)

from . import release


def _options(argv):
    ap = argparse.ArgumentParser(prog="odoo-bin")
    ap.add_argument("-c", "--config")
    ap.add_argument("--addons-path")
    ap.add_argument("--data-dir")
    ap.add_argument("--http-port", type=int)
    ap.add_argument("--stop-after-init", action="store_true")
    ap.add_argument("--version", action="store_true")
    args, _unknown = ap.parse_known_args(argv)
    conf = configparser.ConfigParser()
    path = args.config or os.environ.get("ODOO_RC")
    if path and not conf.read(path):
        sys.exit(f"odoo-bin: cannot read config {path}")
    opts = dict(conf["options"]) if conf.has_section("options") else {}
    return args, {
        "addons_path": args.addons_path or opts.get("addons_path", ""),
        "data_dir": args.data_dir or opts.get("data_dir", "/var/lib/odoo"),
        "http_port": args.http_port or int(opts.get("http_port", 8069)),
    }


def _addons(addons_path):
    found = {}
    for d in filter(None, (p.strip() for p in addons_path.split(","))):
        root = Path(d)
        if not root.is_dir():
            sys.exit(f"odoo-bin: addons path {d} is not a directory")
        for m in root.glob("*/__manifest__.py"):
            found.setdefault(m.parent.name, str(m.parent))
    return found


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] == "/web/health":
            body, code = json.dumps({"status": "pass"}).encode(), 200
        else:
            body, code = b"not found", 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def main(argv=None):
    args, o = _options(sys.argv[1:] if argv is None else argv)
    if args.version:
        print(f"Odoo Server {release.version} (stand-in)")
        return
    addons = _addons(o["addons_path"])
    sessions = Path(o["data_dir"]) / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)  # Odoo writes here: the data volume
    print(f"stand-in odoo {release.version}: {len(addons)} addons", flush=True)
    if args.stop_after_init:
        return
    ThreadingHTTPServer(("0.0.0.0", o["http_port"]), _Health).serve_forever()
