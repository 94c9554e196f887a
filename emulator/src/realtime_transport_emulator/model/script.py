"""The scripted "model": which reply each response gets, and what the user is heard to say.

A script is a list of rules tried in order against the latest user text (typed text, or the
transcript of spoken input), a default reply, and optional transcripts for spoken turns::

    Script(
        rules=[
            Rule(contains="weather", reply=Reply(
                text="Let me check.",
                function_calls=[FunctionCall("get_weather", {"city": "Paris"})],
                then=Reply(text="It is sunny in Paris."),
            )),
            Rule(regex=r"^(hi|hello)\\b", reply=Reply(text="Hello!")),
            Rule(contains="repeat", reply=Reply(echo=True)),
        ],
        default=Reply(text="You said: {user_text}"),
        transcripts=["what's the weather in Paris?"],
    )

or the same as JSON/YAML (``Script.from_file``)::

    rules:
      - contains: weather
        reply:
          text: Let me check.
          function_call: {name: get_weather, arguments: {city: Paris}}
          then: It is sunny in Paris.
      - regex: "^(hi|hello)\\\\b"
        reply: Hello!
    default: "You said: {user_text}"
    transcripts: ["what's the weather in Paris?"]

``then`` is the reply to the response requested after the client sent a
``function_call_output`` for one of the calls. ``echo`` speaks the user's own audio back (or
the user's text, synthesized). ``{user_text}`` in a reply is replaced by the user text,
``{conversation}`` by every message the server holds (``role: text | ...``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_transport_emulator.session.conversation import Item

__all__ = ["FunctionCall", "Reply", "Rule", "Script", "ScriptError", "ScriptRunner"]

DEFAULT_REPLY_TEXT = "This is the realtime emulator. You said: {user_text}"


class ScriptError(ValueError):
    """A script that cannot be used (unknown key, bad regex, unreadable file)."""


@dataclass(frozen=True)
class FunctionCall:
    """A tool call the model makes: ``arguments`` may be a mapping (sent as compact JSON)."""

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    call_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ScriptError("FunctionCall.name must be a non-empty string.")
        if not isinstance(self.arguments, str):
            text = json.dumps(dict(self.arguments), separators=(",", ":"))
            object.__setattr__(self, "arguments", text)

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """What one response contains, in order: a message (text or speech), then tool calls."""

    text: str | None = None
    function_calls: Sequence[FunctionCall] = ()  # stored as a tuple
    then: Reply | None = None
    echo: bool = False
    audio_ms: float | None = None  # force the synthesized speech to this length

    def __post_init__(self) -> None:
        object.__setattr__(self, "function_calls", tuple(self.function_calls))
        if self.then is not None and not self.function_calls:
            raise ScriptError("Reply.then needs function_calls (it answers their outputs).")
        if self.text is None and not self.function_calls and not self.echo:
            raise ScriptError("A Reply needs text, function_calls or echo=True.")


@dataclass(frozen=True)
class Rule:
    """Match the latest user text by substring (case-insensitive), regex, or anything."""

    reply: Reply
    contains: str | None = None
    regex: str | None = None
    once: bool = False

    def __post_init__(self) -> None:
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ScriptError(f"Rule regex {self.regex!r} does not compile: {exc}") from None

    def matches(self, text: str) -> bool:
        if self.contains is not None and self.contains.lower() not in text.lower():
            return False
        return not (self.regex is not None and re.search(self.regex, text, re.IGNORECASE) is None)


@dataclass(frozen=True)
class Script:
    """Rules, a default reply and scripted transcripts; immutable and shareable."""

    rules: Sequence[Rule] = ()  # stored as a tuple
    default: Reply = field(default_factory=lambda: Reply(text=DEFAULT_REPLY_TEXT))
    transcripts: Sequence[str] = ()  # stored as a tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "transcripts", tuple(self.transcripts))

    @classmethod
    def load(cls, value: Script | Mapping[str, Any] | str | Path | None) -> Script:
        """A Script from a Script, a mapping, a JSON/YAML file path, or None (the default)."""
        if value is None:
            return cls()
        if isinstance(value, Script):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        return cls.from_file(value)

    @classmethod
    def from_file(cls, path: str | Path) -> Script:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"Cannot read script file {str(file)!r}: {exc.strerror}") from None
        if file.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ScriptError(
                    "YAML scripts need PyYAML: pip install 'realtime-transport-emulator[yaml]' "
                    "(or write the script as JSON)."
                ) from None
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ScriptError(f"Script {str(file)!r} is not valid YAML: {exc}") from None
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ScriptError(f"Script {str(file)!r} is not valid JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise ScriptError(f"Script {str(file)!r} must contain an object at the top level.")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        _check_keys(data, {"rules", "default", "transcripts"}, "script")
        rules = [_rule(raw, f"rules[{i}]") for i, raw in enumerate(_list(data, "rules", "script"))]
        transcripts = _list(data, "transcripts", "script")
        if not all(isinstance(t, str) for t in transcripts):
            raise ScriptError("script.transcripts must be a list of strings.")
        default = _reply(data["default"], "default") if "default" in data else None
        if default is None:
            return cls(rules=tuple(rules), transcripts=tuple(transcripts))
        return cls(rules=tuple(rules), default=default, transcripts=tuple(transcripts))


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScriptError(
            f"Unknown key(s) {', '.join(map(repr, unknown))} in {where}; "
            f"allowed: {', '.join(sorted(allowed))}."
        )


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScriptError(f"{where}.{key} must be a list.")
    return value


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where} must be an object with a 'reply'.")
    _check_keys(raw, {"contains", "regex", "any", "once", "reply"}, where)
    if "reply" not in raw:
        raise ScriptError(f"{where} has no 'reply'.")
    for key in ("contains", "regex"):
        if key in raw and not isinstance(raw[key], str):
            raise ScriptError(f"{where}.{key} must be a string.")
    return Rule(
        reply=_reply(raw["reply"], f"{where}.reply"),
        contains=raw.get("contains"),
        regex=raw.get("regex"),
        once=bool(raw.get("once", False)),
    )


def _reply(raw: Any, where: str) -> Reply:
    if isinstance(raw, str):
        return Reply(text=raw)
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where} must be a string or an object.")
    _check_keys(raw, {"text", "function_call", "function_calls", "then", "echo", "audio_ms"}, where)
    calls_raw: list[Any] = []
    if "function_call" in raw:
        single = raw["function_call"]
        calls_raw.extend(single if isinstance(single, list) else [single])
    if "function_calls" in raw:
        if not isinstance(raw["function_calls"], list):
            raise ScriptError(f"{where}.function_calls must be a list.")
        calls_raw.extend(raw["function_calls"])
    calls = tuple(_call(c, f"{where}.function_calls[{i}]") for i, c in enumerate(calls_raw))
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise ScriptError(f"{where}.text must be a string.")
    audio_ms = raw.get("audio_ms")
    if audio_ms is not None and (not isinstance(audio_ms, (int, float)) or audio_ms <= 0):
        raise ScriptError(f"{where}.audio_ms must be a positive number.")
    then = _reply(raw["then"], f"{where}.then") if raw.get("then") is not None else None
    return Reply(
        text=text,
        function_calls=calls,
        then=then,
        echo=bool(raw.get("echo", False)),
        audio_ms=float(audio_ms) if audio_ms is not None else None,
    )


def _call(raw: Any, where: str) -> FunctionCall:
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where} must be an object with 'name' and 'arguments'.")
    _check_keys(raw, {"name", "arguments", "call_id"}, where)
    arguments = raw.get("arguments", "{}")
    if not isinstance(arguments, (str, Mapping)):
        raise ScriptError(f"{where}.arguments must be an object or a JSON string.")
    return FunctionCall(name=raw.get("name", ""), arguments=arguments, call_id=raw.get("call_id"))


def placeholder_transcript(audio_ms: float) -> str:
    """What the user "said" when the script has no transcript left: the audio's duration."""
    return f"[{audio_ms / 1000:.1f} seconds of audio]"


class ScriptRunner:
    """Per-session state of a script: consumed ``once`` rules, transcripts, pending ``then``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._used: set[int] = set()
        self._transcripts = list(script.transcripts)
        self._pending: dict[str, tuple[int, Reply]] = {}  # call_id -> (group, reply)
        self._groups = 0

    def next_transcript(self, audio_ms: float) -> str:
        """The transcript of the next committed audio turn."""
        if self._transcripts:
            return self._transcripts.pop(0)
        return placeholder_transcript(audio_ms)

    def choose(self, context: Iterable[Item]) -> tuple[Reply, str]:
        """Pick the reply for a response over ``context``; also returns the user text."""
        items = list(context)
        user_text = ""
        tail: list[Item] = []
        for item in reversed(items):
            if item.type == "message" and item.role == "user":
                user_text = item.text()
                break
            tail.append(item)
        for item in reversed(tail):
            if item.type == "function_call_output":
                pending = self._pending.get(str(item.wire.get("call_id")))
                if pending is not None:
                    group, reply = pending
                    for call_id in [k for k, (g, _) in self._pending.items() if g == group]:
                        del self._pending[call_id]
                    return reply, user_text
        for index, rule in enumerate(self.script.rules):
            if index in self._used or not rule.matches(user_text):
                continue
            if rule.once:
                self._used.add(index)
            return rule.reply, user_text
        return self.script.default, user_text

    def expect_outputs(self, reply: Reply, call_ids: Iterable[str]) -> None:
        """Remember ``reply.then`` for when an output for one of ``call_ids`` arrives."""
        if reply.then is None:
            return
        self._groups += 1
        for call_id in call_ids:
            self._pending[call_id] = (self._groups, reply.then)
