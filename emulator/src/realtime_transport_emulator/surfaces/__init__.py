"""One module per endpoint family, each with an ``install(emulator)`` that adds its routes.

The Realtime WebSocket and client secrets today; WebRTC calls, SIP call control and webhooks, and
the Twilio carrier simulator join here.
"""
