"""A real Sanic server with our channels registered the way `rasa run` registers them, and a scripted bot.

Used by the connector tests: everything over HTTP/socket.io is the real connector code; only the dialogue
engine is replaced by `ScriptedAgent`, whose replies go through Rasa's own OutputChannel.send_response.
GET /test/received lists what the bot was handed (text, sender, message id, metadata).
"""

import argparse
import asyncio

from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic, response

from bot.channels.rest import RestWithMetadata
from bot.channels.webchat import WebChatInput
from bot.channels.webhook import WebhookInput
from bot.scaleout.channel import ResilientRest

CAROUSEL = {
    "type": "product_carousel",
    "text": "1. Red Retrospot Charlotte Bag — £0.85 (because you bought Jumbo Bag Red Retrospot)",
    "products": [{
        "sku": "20724", "name": "Red Retrospot Charlotte Bag", "price": "0.85", "currency": "GBP",
        "image_url": "/products/20724.svg", "reason": "Because you bought Jumbo Bag Red Retrospot",
        "buttons": [{"title": "Tell me more", "payload": '/product_info{"product":"20724"}'}],
    }],
}


class ScriptedAgent:
    def __init__(self) -> None:
        self.received: list[dict] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append({"text": message.text, "sender": message.sender_id, "message_id": message.message_id,
                              "metadata": message.metadata, "channel": message.input_channel})
        out, to = message.output_channel, message.sender_id
        if message.text == "rich":
            await out.send_response(to, {"text": "Pick one:", "buttons": [
                {"title": "Track my order", "payload": "/track_order"},
                {"title": "Talk to a person", "payload": "/contact_human_agent"}]})
            await out.send_response(to, {"text": "Here are a few ideas for you:", "custom": CAROUSEL})
            await out.send_response(to, {"image": "https://shop.example/img/1.png"})
        elif message.text == "agent":  # what Rasa delivers for a bot event the console appends for an agent
            await out.send_response(to, {"text": "Hi, Sam here.", "shopdesk_agent": "Sam", "timestamp": 1.0})
            await out.send_response(to, {"text": "Pick:", "buttons": [{"title": "Yes", "payload": "/affirm"}],
                                         "shopdesk_agent": "Sam"})
            await out.send_response(to, {"text": "Sam joined.", "shopdesk_agent": "system"})
            await out.send_response(to, {"text": "the assistant"})
        elif message.text == "slow":
            await asyncio.sleep(1.0)
            await out.send_response(to, {"text": "done"})
        elif message.text == "fail":
            raise RuntimeError("scripted failure")
        elif message.text == "silent":  # what Rasa does for a paused conversation
            return
        else:
            await out.send_response(to, {"text": f"echo: {message.text}"})


def build_app(secret: str, callback_url: str | None, rest_token: str = "", replay_db: str | None = None,
              scaleout_rest: bool = False) -> Sanic:
    app = Sanic("shopdesk_channel_test")
    agent = ScriptedAgent()
    app.ctx.agent = agent
    rest = (ResilientRest if scaleout_rest else RestWithMetadata)(token=rest_token)
    channels = [WebhookInput(secret=secret, callback_url=callback_url, tolerance_s=300, replay_db_url=replay_db),
                WebChatInput.from_credentials({"session_persistence": True}), rest]
    register(channels, app, route="/webhooks/")

    @app.get("/test/received")
    async def received(_request):  # type: ignore[no-untyped-def]
        return response.json(agent.received)

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--callback-url")
    parser.add_argument("--rest-token", default="")
    parser.add_argument("--replay-db", help="SQLAlchemy URL of the webhook's shared replay store")
    parser.add_argument("--scaleout-rest", action="store_true", help="the scale-out profile's REST channel")
    args = parser.parse_args()
    app = build_app(args.secret, args.callback_url, args.rest_token, args.replay_db, args.scaleout_rest)
    app.run(host="127.0.0.1", port=args.port, access_log=False, workers=1)
