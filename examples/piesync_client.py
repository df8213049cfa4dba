#!/usr/bin/env python3
"""A reference partner client: does what PieSync does, with the standard library only.

1. reads the server's issuer from its metadata, prints the authorize URL and catches the
   redirect on a local port, accepting it only with our `state` and that issuer;
2. exchanges the code for tokens (HTTP Basic with the client id and secret);
3. PUTs its subscription, pointing at its own local receiver;
4. verifies each received request's signature and prints the events.

    python3 examples/piesync_client.py --base-url http://127.0.0.1:8000 \\
        --client-id piesync-demo --client-secret piesync-demo-secret

The demo client's registered redirect URI is http://127.0.0.1:8765/callback, so the
default --port is 8765; `--port 0` takes any free port, which a loopback redirect URI
allows (RFC 8252 §7.3). The browser that brings the redirect is shown the outcome; any
failure is printed to stderr and ends the client with status 1. Stop with Ctrl-C.
"""

import argparse
import base64
import contextlib
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
METADATA_PATH = "/.well-known/oauth-authorization-server"


class Failure(Exception):
    """A step that went wrong; the message says what, for the terminal and the browser."""

    status = 502  # what the browser is answered: the server behind us failed


class Refused(Failure):
    """An authorization response this client must not act on."""

    status = 400


Reply = tuple[int, str]


class Receiver(BaseHTTPRequestHandler):
    """Serves the OAuth callback (GET /callback) and the webhook (POST /hook).

    The callback is handed to the main thread, and the browser waits for the outcome.
    """

    callbacks: "queue.Queue[tuple[dict[str, str], queue.Queue[Reply]]]" = queue.Queue()
    callback_taken = threading.Lock()
    webhook_secret = secrets.token_urlsafe(24)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/callback":
            self._answer(404, "not found")
            return
        if not self.callback_taken.acquire(blocking=False):
            self._answer(409, "This client has already handled its authorization response.")
            return
        reply: queue.Queue[Reply] = queue.Queue()
        self.callbacks.put((dict(urllib.parse.parse_qsl(url.query)), reply))
        self._answer(*reply.get())

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
    except urllib.error.URLError as error:
        raise Failure(f"cannot reach {url}: {error.reason}") from error


def server_issuer(base: str) -> str:
    """The issuer in the server's metadata: the one `iss` must name (RFC 9207 §2.4)."""
    status, body = call("GET", f"{base}{METADATA_PATH}", headers={})
    if status != 200:
        raise Failure(f"no authorization server metadata at {base}: {status}")
    issuer = json.loads(body).get("issuer")
    # RFC 8414 §3.3: the issuer must be the URL its metadata was fetched from.
    if issuer != base:
        raise Failure(f"the server at {base} names another issuer: {issuer}")
    return base


def authorization_code(response: dict[str, str], *, state: str, issuer: str) -> str:
    """The code of an authorization response that answers our request, from our server."""
    # RFC 6749 §10.12: only a response carrying the state we sent answers our request.
    if not hmac.compare_digest(response.get("state", "").encode(), state.encode()):
        raise Refused("state mismatch: this response does not answer our request")
    # RFC 9207 §2.4: the response, an error too, must come from the server we asked.
    # Its metadata says it always sends `iss`, so a response without one is refused.
    if "iss" not in response:
        raise Refused("the response carries no iss (RFC 9207)")
    if response["iss"] != issuer:
        raise Refused(f"the response comes from {response['iss']}, not from {issuer}")
    if "error" in response:
        description = response.get("error_description", "")
        raise Refused(f"authorization refused: {response['error']}: {description}")
    if not response.get("code"):
        raise Refused("the response carries no code")
    return response["code"]


def exchange_code(
    base: str, *, client_id: str, client_secret: str, code: str, redirect_uri: str, verifier: str
) -> dict[str, str]:
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
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
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        ).encode(),
    )
    if status != 200:
        raise Failure(f"token exchange failed: {status} {body.decode()}")
    tokens: dict[str, str] = json.loads(body)
    return tokens


def subscribe(base: str, *, tokens: dict[str, str], hook_url: str) -> None:
    status, body = call(
        "PUT",
        f"{base}/piesync/subscription/{tokens['site_uuid']}/",
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Content-Type": "application/json",
        },
        data=json.dumps({"url": hook_url, "secret": Receiver.webhook_secret}).encode(),
    )
    if status != 200:
        raise Failure(f"subscription failed: {status} {body.decode()}")


class Server(ThreadingHTTPServer):
    # server_close() then waits until the browser has been answered.
    daemon_threads = False


def connect(args: argparse.Namespace, *, base: str, issuer: str, port: int) -> int:
    redirect_uri = f"http://127.0.0.1:{port}/callback"

    # 1. Authorize (with PKCE S256, and a state and issuer we check).
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
    response, reply = Receiver.callbacks.get()
    hook_url = f"http://127.0.0.1:{port}/hook"
    # The browser waits for this answer, whatever happens here (Ctrl-C included).
    answer = (500, "Not connected: the client stopped.")
    try:
        code = authorization_code(response, state=state, issuer=issuer)
        # 2. Exchange the code, 3. subscribe our own receiver.
        tokens = exchange_code(
            base,
            client_id=args.client_id,
            client_secret=args.client_secret,
            code=code,
            redirect_uri=redirect_uri,
            verifier=verifier,
        )
        subscribe(base, tokens=tokens, hook_url=hook_url)
        domain = tokens["site_domain"]
        answer = (200, f"Connected to {domain}. You can close this tab.")
    except Failure as failure:
        answer = (failure.status, f"Not connected: {failure}")
        print(f"!! {failure}", file=sys.stderr)
        return 1
    finally:
        reply.put(answer)

    print(f"Connected to {domain} (site {tokens['site_uuid']}), scope: {tokens['scope']}")
    print(f"Subscribed {hook_url}. Create or edit a lead on {domain} to see events.\n")

    # 4. Print events until Ctrl-C.
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default="piesync-demo")
    parser.add_argument("--client-secret", default="piesync-demo-secret")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    try:
        issuer = server_issuer(base)
    except Failure as failure:
        print(f"!! {failure}", file=sys.stderr)
        return 1

    server = Server(("127.0.0.1", args.port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return connect(args, base=base, issuer=issuer, port=server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
