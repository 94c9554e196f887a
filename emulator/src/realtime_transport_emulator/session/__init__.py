"""The Realtime protocol state machine, independent of the transport that carries it.

Turns, responses, items, the conversation, VAD, usage, validation and the real API's errors.
"""
