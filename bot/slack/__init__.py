"""The Slack adapter: Bolt listeners → core commands, outbox deliveries → Block Kit messages.

`adapter` wires it into the runtime (HTTP or Socket Mode); `commands`, `events` and `actions` are the
Bolt listeners (/ticket and the message shortcut, thread replies and :ticket:, card buttons); `forms`
is the ticket modal; `translate` turns payloads into commands (pure); `render` is the only place that
escapes (mrkdwn, Block Kit); `sender` delivers outbox rows; `answers` sends immediate replies;
`identity` builds verified actors; `cards` looks up where tickets live in Slack.
"""
