"""The Caddyfile: one site per (sub)domain; Odoo's /websocket to the gevent port."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    address: str  # "erp.example.com", or "http://127.0.0.1:8080" for a test variant
    upstream: str  # host:port
    websocket_upstream: str | None = None  # Odoo only
    refuse_db_manager: bool = False
    upload_limit_mb: int = 128


_HEADERS = """\
(security_headers) {
\theader {
\t\tStrict-Transport-Security "max-age=31536000; includeSubDomains"
\t\tX-Content-Type-Options "nosniff"
\t\tX-Frame-Options "SAMEORIGIN"
\t\tReferrer-Policy "strict-origin-when-cross-origin"
\t\t-Server
\t}
}
"""


def render(
    sites: list[Site], acme_email: str | None = None, global_options: tuple[str, ...] = ()
) -> str:
    out = ["# Rendered by `invoke render` from stack.toml; do not edit (render --check: drift)."]
    opts = ([f"email {acme_email}"] if acme_email else []) + list(global_options)
    if opts:
        out.append("{\n" + "".join(f"\t{o}\n" for o in opts) + "}")
    out.append(_HEADERS)
    for s in sites:
        body = [
            "\timport security_headers",
            "\tencode zstd gzip",
            f"\trequest_body {{\n\t\tmax_size {s.upload_limit_mb}MB\n\t}}",
        ]
        if s.refuse_db_manager:
            # Production: the database manager (create, drop, backup, restore) is not public.
            # In its own handle: a bare `respond` would sort after the catch-all handle below.
            body.append(
                "\t@dbmanager path /web/database/*\n\thandle @dbmanager {\n\t\trespond 403\n\t}"
            )
        if s.websocket_upstream:
            body.append(f"\thandle /websocket* {{\n\t\treverse_proxy {s.websocket_upstream}\n\t}}")
        # reverse_proxy sets X-Forwarded-For/-Proto/-Host; Odoo trusts them with proxy_mode.
        body.append(f"\thandle {{\n\t\treverse_proxy {s.upstream}\n\t}}")
        out.append(f"{s.address} {{\n" + "\n".join(body) + "\n}\n")
    return "\n".join(out)
