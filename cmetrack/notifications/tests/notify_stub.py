"""A stand-in for the GOV.UK Notify API on loopback (127.0.0.1, a random port).

It implements what cmetrack uses: ``POST /v2/notifications/email`` and ``/sms`` (201 and an
id) and ``GET /v2/notifications?reference=…``, and checks the JWT bearer token the client
signs with the API key's secret (issuer: the service id). ``fail_next`` makes the next
requests answer 429, 500 or 400 (retries and refusals).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from notifications_python_client.authentication import (
    decode_jwt_token,
    get_token_issuer,
)

SERVICE_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "66666666-7777-8888-9999-000000000000"
API_KEY = f"cmetrack_test-{SERVICE_ID}-{SECRET}"


@dataclass
class StubNotify:
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    url: str = ""
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emails(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "email"]

    def to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.emails() if m["email_address"] == address]


def _handler(stub: StubNotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return False
            token = header.removeprefix("Bearer ")
            try:
                return bool(
                    get_token_issuer(token) == SERVICE_ID and decode_jwt_token(token, SECRET)
                )
            except Exception:
                return False

        def _status(self, path: str) -> int | None:
            with stub.lock:
                if not self._authorised():
                    code = 403
                elif stub.fail_next:
                    code = stub.fail_next.pop(0)
                else:
                    code = None
                stub.requests.append((self.command, path, code or 200))
            return code

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            code = self._status(parts.path)
            if code:
                self._answer(code, {"errors": [{"error": "Stub", "message": f"stub {code}"}]})
                return
            if parts.path != "/v2/notifications":
                self._answer(404, {"errors": [{"error": "NotFound", "message": "no such path"}]})
                return
            reference = parse_qs(parts.query).get("reference", [""])[0]
            found = [
                {"id": m["id"], "reference": m["reference"], "status": "created"}
                for m in stub.sent
                if m["reference"] == reference
            ]
            self._answer(200, {"notifications": found, "links": {}})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            code = self._status(path)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if code:
                message = "Exceeded rate limit" if code == 429 else f"stub {code}"
                self._answer(code, {"errors": [{"error": "Stub", "message": message}]})
                return
            kinds = {"/v2/notifications/email": "email", "/v2/notifications/sms": "sms"}
            if path not in kinds:
                self._answer(404, {"errors": [{"error": "NotFound", "message": "no such path"}]})
                return
            field_name = "email_address" if kinds[path] == "email" else "phone_number"
            if not body.get(field_name) or not body.get("template_id"):
                self._answer(400, {"errors": [{"error": "BadRequestError", "message": "missing"}]})
                return
            notification = {"id": str(uuid.uuid4()), "type": kinds[path], **body}
            with stub.lock:
                stub.sent.append(notification)
            self._answer(
                201,
                {
                    "id": notification["id"],
                    "reference": body.get("reference"),
                    "content": {"subject": "stub", "body": "stub"},
                    "template": {"id": body["template_id"], "version": 1, "uri": "stub"},
                },
            )

    return Handler


def start() -> StubNotify:
    stub = StubNotify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.server = server
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return stub


def stop(stub: StubNotify) -> None:
    assert stub.server is not None
    stub.server.shutdown()
    stub.server.server_close()
