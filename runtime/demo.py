"""Start the demo shop (web storefront with the chat widget, Rasa server, action server) and open it.

Run through `make demo`, which first sets up the environments, seeds the store and trains the models.
The storefront opens in the browser (http://127.0.0.1:8080/); with a terminal attached you can also
chat right there. Every process is supervised: one that crashes or hangs is logged (stderr and
var/logs/supervisor.log) and restarted with back-off. Ctrl-C (or Ctrl-D) stops every process.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import uuid
import webbrowser

from runtime.chat_client import conversation_id, render_for_terminal, send_message
from runtime.stack import StackConfig, console_server, shopdesk_stack
from runtime.supervisor import log_supervision_to
from store.tokens import METADATA_KEY, issue_customer_token


def chat(rasa_url: str, sender: str, metadata: dict[str, str] | None, token: str) -> None:
    print("\nType a message (try: 'where is my order 581585', 'cancel my order', 'show my recent orders').")
    print("Ctrl-D or Ctrl-C quits.\n")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            return
        if not text.strip():
            continue
        try:
            for message in send_message(rasa_url, sender, text, metadata, token=token):
                print("bot> " + render_for_terminal(message).replace("\n", "\n     "))
        except Exception as error:  # keep the chat alive whatever the server says
            print(f"(could not reach the assistant: {error})")


def chat_or_serve(rasa_url: str, env: dict[str, str], as_customer: int | None) -> None:
    """Chat in the terminal when there is one (as a signed-in customer if asked), else serve until Ctrl-C.

    The terminal talks to the REST channel as the shop's backend would (SHOPDESK_REST_TOKEN); a signed-in
    customer's token is bound to this chat's conversation (`rest:<sender>`).
    """
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    metadata = None
    if as_customer is not None:
        token = issue_customer_token(as_customer, conversation_id(sender), env["SHOPDESK_SIGNING_KEY"])
        metadata = {METADATA_KEY: token}
    if sys.stdin.isatty():
        chat(rasa_url, sender, metadata, env.get("SHOPDESK_REST_TOKEN", ""))
    else:
        print("No terminal attached: serving until stopped (Ctrl-C).", flush=True)
        signal.pause()


def main() -> int:
    if os.environ.get("SHOPDESK_PROFILE") == "scaleout":  # docs/deployment.md: same launcher, scale-out profile
        from runtime.scaleout import main as scaleout_main

        return scaleout_main()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--web-port", type=int, default=8080)
    parser.add_argument("--console-port", type=int, default=8090)
    parser.add_argument("--no-browser", action="store_true", help="don't open the storefront in a browser")
    parser.add_argument("--as-customer", type=int, default=None,
                        help="chat as this verified customer id (as if signed in on the shop's site)")
    args = parser.parse_args()

    config = StackConfig(rasa_port=args.rasa_port, actions_port=args.actions_port, web_port=args.web_port,
                         mode="demo")  # the storefront and its password-less sign-in: demo only
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_supervision_to(config.var_dir / "logs" / "supervisor.log")
    stack = shopdesk_stack(config, with_web=True, supervise=True)
    stack.servers.append(console_server(config, args.console_port))
    # Ctrl-C and SIGTERM both end in `finally: stack.stop()`, even when started from a script that
    # ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("Starting the action server, the Rasa server and the shop (first start takes a minute)...")
    try:
        stack.start()
        print(f"Rasa server: {config.rasa_url} (REST: {config.rasa_url}/webhooks/shopdesk_rest/webhook), "
              f"action server: {config.actions_url}; logs in var/logs/.")
        print(f"\n  The demo shop with the chat widget: {config.web_url}/"
              f"\n  Agent console: http://127.0.0.1:{args.console_port}/ (demo.agent@shopdesk.example, password: "
              "SHOPDESK_DEMO_AGENT_PASSWORD in .env)\n",
              flush=True)
        if not args.no_browser:
            webbrowser.open(f"{config.web_url}/")
        chat_or_serve(config.rasa_url, config.env(), args.as_customer)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
