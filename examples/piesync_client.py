#!/usr/bin/env python3
"""A reference partner client: does what PieSync does, with the standard library only.

1. prints the authorize URL and catches the redirect on a local port;
2. exchanges the code for tokens (HTTP Basic with the client id and secret);
3. PUTs its subscription, pointing at its own local receiver;
4. verifies each received request's signature and prints the events.

    python3 examples/piesync_client.py --base-url http://127.0.0.1:8000 \\
        --client-id piesync-demo --client-secret piesync-demo-secret

The demo client's registered redirect URI is http://127.0.0.1:8765/callback, so the
default --port is 8765; `--port 0` takes any free port, which a loopback redirect URI
allows (RFC 8252 §7.3). Stop with Ctrl-C.
"""

import argparse
import base64
import hashlib
import hmac
import json
import queue
import secrets
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCOPE = "leadrouter:connect leadrouter:send"


class Receiver(BaseHTTPRequestHandler):
    """Serves the OAuth callback (GET /callback) and the webhook (POST /hook)."""

    codes: "queue.Queue[dict[str, str]]" = queue.Queue()
    webhook_secret = ""

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/callback":
            self._answer(404, "not found")
            return
        params = dict(urllib.parse.parse_qsl(url.query))
        self._answer(200, "Connected to Real Geeks. You can close this tab.")
        self.codes.put(params)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        expected = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        received = self.headers.get("X-Lead-Router-Signature", "")
        if not hmac.compare_digest(expected, received):
            print("!! rejected a request with a bad signature", flush=True)
            self._answer(404, "")
            return
        lead = json.loads(body)
        name = f"{lead.get('first_name', '')} {lead.get('last_name', '')}".strip() or "(no name)"
        print(
            f"<< {self.headers['X-Lead-Router-Action']:8} lead {lead['id']} {name} "
            f"<{lead.get('email', '')}> on {lead['site_domain']} "
            f"(message {self.headers.get('X-Lead-Router-Message-Id')}, signature ok)",
            flush=True,
        )
        self._answer(200, "")

    def _answer(self, status: int, text: str) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def call(
    method: str, url: str, *, headers: dict[str, str], data: bytes | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default="piesync-demo")
    parser.add_argument("--client-secret", default="piesync-demo-secret")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    redirect_uri = f"http://127.0.0.1:{port}/callback"

    # 1. Authorize (with PKCE S256 and a state we check).
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = urllib.parse.urlencode(
        {
            "client_id": args.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    print(
        "Open this URL in a browser, log in and allow:\n\n"
        f"  {base}/piesync/oauth/authorize/?{query}\n"
    )
    callback = Receiver.codes.get()
    if callback.get("state") != state:
        print("!! state mismatch; refusing the callback", file=sys.stderr)
        return 1
    if "error" in callback:
        print(f"!! authorization refused: {callback['error']}", file=sys.stderr)
        return 1

    # 2. Exchange the code.
    basic = base64.b64encode(f"{args.client_id}:{args.client_secret}".encode()).decode()
    status, body = call(
        "POST",
        f"{base}/piesync/oauth/token/",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        data=urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        ).encode(),
    )
    if status != 200:
        print(f"!! token exchange failed: {status} {body.decode()}", file=sys.stderr)
        return 1
    tokens = json.loads(body)
    site_uuid = tokens["site_uuid"]
    print(f"Connected to {tokens['site_domain']} (site {site_uuid}), scope: {tokens['scope']}")

    # 3. Subscribe our own receiver.
    Receiver.webhook_secret = secrets.token_urlsafe(24)
    hook_url = f"http://127.0.0.1:{port}/hook"
    status, body = call(
        "PUT",
        f"{base}/piesync/subscription/{site_uuid}/",
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Content-Type": "application/json",
        },
        data=json.dumps({"url": hook_url, "secret": Receiver.webhook_secret}).encode(),
    )
    if status != 200:
        print(f"!! subscription failed: {status} {body.decode()}", file=sys.stderr)
        return 1
    print(
        f"Subscribed {hook_url}. Create or edit a lead on {tokens['site_domain']} to see events.\n"
    )

    # 4. Print events until Ctrl-C.
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
