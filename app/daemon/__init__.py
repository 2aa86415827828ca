"""The headless daemon: HTTP (health, latest reading, Server-Sent Events) and a JSON-lines log."""
