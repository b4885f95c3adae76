"""The Slack adapter: Bolt listeners → core commands, outbox deliveries → Block Kit messages.

Modules: `adapter` (wiring, HTTP/Socket Mode), `translate` (payload → command, pure), `render`
(mrkdwn and Block Kit, the only place that escapes), `sender` (outbox deliveries), `forms` (the
ticket modal), `listeners` and `actions` (Bolt listeners), `identity` (verified actors).
"""
