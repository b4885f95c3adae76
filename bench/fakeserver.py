"""The fake Slack Web API in a process of its own (ingest runs it there so it costs the server no CPU).

`python -m bench.fakeserver '<json: users, channels, responses>'` prints one JSON line (base_url,
response_urls), serves until its stdin closes, then prints a second line with what it received.
"""
from __future__ import annotations

import json
import sys
from collections import Counter

from tests.fakes.slack_api import FakeSlack


def main() -> None:
    spec = json.loads(sys.argv[1])
    fake = FakeSlack().start()
    for uid in spec.get("users", []):
        fake.add_user(uid, uid.lower(), real_name=f"Buyer {uid}")
    for cid in spec.get("channels", []):
        fake.add_channel(cid, cid.lower())
    urls = [fake.new_response_url() for _ in range(spec.get("responses", 1))]
    print(json.dumps({"base_url": fake.base_url, "response_urls": urls}), flush=True)
    sys.stdin.read()
    methods = Counter(c.method for c in fake.calls)
    print(json.dumps({"calls": dict(methods), "responses": len(fake.responses()),
                      "internal_errors": fake.internal_errors[:3]}), flush=True)
    fake.stop()


if __name__ == "__main__":
    main()
