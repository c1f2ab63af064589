"""Platform adapters: translate chat payloads to neutral events and neutral replies to messages."""
