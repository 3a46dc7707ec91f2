"""Start the demo shop (action server + Rasa server on the embedded defaults) and chat with it.

Run through `make demo`, which first sets up the environments, seeds the store and trains the model.
With a terminal attached you get a chat prompt right away; Ctrl-C (or Ctrl-D) stops every process.
"""

from __future__ import annotations

import argparse
import signal
import sys
import uuid

from runtime.chat_client import render_for_terminal, send_message
from runtime.stack import StackConfig, shopdesk_stack
from store.tokens import METADATA_KEY, issue_customer_token


def chat(rasa_url: str, metadata: dict[str, str] | None) -> None:
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print("\nType a message (try: 'where is my order 581585', 'cancel my order', 'show my recent orders').")
    print("Ctrl-D or Ctrl-C quits.\n")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            return
        try:
            for message in send_message(rasa_url, sender, text, metadata):
                print("bot> " + render_for_terminal(message).replace("\n", "\n     "))
        except Exception as error:  # keep the chat alive whatever the server says
            print(f"(could not reach the assistant: {error})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--as-customer", type=int, default=None,
                        help="chat as this verified customer id (as if signed in on the shop's site)")
    args = parser.parse_args()

    config = StackConfig(rasa_port=args.rasa_port, actions_port=args.actions_port)
    stack = shopdesk_stack(config)
    # Ctrl-C and SIGTERM both end in `finally: stack.stop()`, even when started from a script that
    # ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("Starting the action server and the Rasa server (first start takes a minute)...")
    try:
        stack.start()
        print(f"Rasa server: {config.rasa_url} (REST: {config.rasa_url}/webhooks/shopdesk_rest/webhook), "
              f"action server: {config.actions_url}; logs in var/logs/.")
        metadata = None
        if args.as_customer is not None:
            metadata = {METADATA_KEY: issue_customer_token(args.as_customer, config.env()["SHOPDESK_SIGNING_KEY"])}
        if sys.stdin.isatty():
            chat(config.rasa_url, metadata)
        else:
            print("No terminal attached: serving until stopped (Ctrl-C).")
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
