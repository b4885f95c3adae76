"""The load generator: N concurrent aiohttp clients for T seconds, in a process of its own.

Run as `python -m bench.loadgen '<json spec>'`; prints one JSON line with counts and latencies. Kept out of
the server's process so the clients' CPU does not steal the server's event loop (on 2 cores they still
share the machine, the same way for every target).
"""
from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

TEXTS = ("Fan rattles after the BIOS update", "Monitor arrived with a cracked corner",
         "Parcel stuck at the courier for 5 days", "Refund not received for returned keyboard",
         "Laptop will not boot after memory upgrade", "Headset left channel dead")
CATEGORIES = ("hardware", "hardware", "shipping", "refund", "hardware", "hardware")


def slash_body(spec: dict[str, Any], client: int, n: int) -> str:
    """A `/ticket …` slash command as Slack sends it (form-encoded)."""
    i = (client * 7 + n) % len(TEXTS)
    text = f"{TEXTS[i]} order:{9000000 + client * 100000 + n} category:{CATEGORIES[i]} customer:\"Buyer {n}\""
    user = spec["users"][client % len(spec["users"])]
    return urlencode({
        "token": "legacy-verification-token", "team_id": spec["team"], "team_domain": "festival",
        "channel_id": spec["channel"], "channel_name": "after-sales", "user_id": user, "user_name": user.lower(),
        "command": "/ticket", "text": text, "api_app_id": "A0001", "is_enterprise_install": "false",
        "response_url": spec["response_urls"][client % len(spec["response_urls"])],
        "trigger_id": f"{client}.{n}.bench",
    })


def peer_body(spec: dict[str, Any], client: int, n: int) -> str:
    i = (client * 7 + n) % len(TEXTS)
    return json.dumps({"queue": spec["queue"], "title": TEXTS[i],
                       "description": f"Order {9000000 + client * 100000 + n}, customer Buyer {n}",
                       "submitter_email": f"buyer{client}.{n}@example.com", "priority": 3})


async def client_loop(spec: dict[str, Any], session: aiohttp.ClientSession, client: int, deadline: float,
                      latencies: list[float], errors: dict[str, int]) -> None:
    verifier = SignatureVerifier(spec["secret"]) if spec["kind"] == "slack" else None
    auth = "Basic " + base64.b64encode(spec.get("basic", "").encode()).decode()
    n = 0
    while time.monotonic() < deadline:
        n += 1
        if verifier is not None:
            body = slash_body(spec, client, n)
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body)}
        else:
            body = peer_body(spec, client, n)
            headers = {"Content-Type": "application/json", "Authorization": auth}
        t0 = time.perf_counter()
        try:
            async with session.post(spec["url"], data=body.encode(), headers=headers) as resp:
                await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(0.05)
            continue
        if status in spec.get("ok_statuses", [200]):
            latencies.append((time.perf_counter() - t0) * 1000)
        else:
            errors[f"http_{status}"] = errors.get(f"http_{status}", 0) + 1


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=spec["clients"] + 5)
    timeout = aiohttp.ClientTimeout(total=spec.get("timeout", 60))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        deadline = started + spec["seconds"]
        await asyncio.gather(*(client_loop(spec, session, c, deadline, latencies, errors)
                               for c in range(spec["clients"])))
        elapsed = time.monotonic() - started
    return {"ok": len(latencies), "errors": errors, "elapsed": elapsed, "latencies_ms": latencies}


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
