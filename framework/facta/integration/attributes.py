"""The CloudEvents 1.0 type system, checked on every attribute of every received event.

The specification gives each context attribute a type: ``id``, ``type``, ``subject``
and ``datacontenttype`` are Strings, ``source`` a URI-reference, ``dataschema`` an
absolute URI, ``time`` a Timestamp (RFC 3339, with a ``T``). Extension attributes are
named with 1 to 20 lowercase letters or digits and hold a String, URI, URI-reference,
Timestamp, Integer (32-bit signed), Boolean or Binary — never a float, a list or an
object. The SDK checks less than that, so every way in calls ``check_attributes`` on the
values as they arrived (a JSON document's, HTTP headers', AMQP headers') before the
SDK builds the event. A value of JSON ``null`` is an absent attribute (the JSON format's
schema allows it), so ``drop_nulls`` removes those first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from facta.errors import InvalidCloudEvent

__all__ = [
    "CONTEXT_ATTRIBUTES",
    "check_attributes",
    "drop_nulls",
    "is_timestamp",
    "is_uri",
    "is_uri_reference",
]

CONTEXT_ATTRIBUTES = frozenset(
    {"id", "source", "type", "specversion", "subject", "time", "dataschema", "datacontenttype"}
)
"""The attributes the specification defines; every other one is an extension."""

_REQUIRED = ("id", "source", "type", "specversion")
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")
_INT32 = (-(2**31), 2**31 - 1)
# Strings must not hold control characters, surrogates or noncharacters (spec, "String")
_NONCHARACTERS = "".join(
    chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(1, 17)
)
_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff" + _NONCHARACTERS + "]"
)
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
    r"(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(?:[A-Za-z0-9!#$&^_.+-]+|\"[^\"]*\"))*\s*"
)

# RFC 3986, appendix A
_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PCHAR = rf"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_SEGMENT_NZ_NC = rf"(?:[{_UNRESERVED_SUB}@]|{_PCT})+"
_H16 = r"[0-9A-Fa-f]{1,4}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "|".join(
    [
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
)
_IP_LITERAL = rf"\[(?:{_IPV6}|v[0-9A-Fa-f]+\.[{_UNRESERVED_SUB}:]+)\]"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED_SUB}:]|{_PCT})*@)?"  # userinfo
    rf"(?:{_IP_LITERAL}|(?:[{_UNRESERVED_SUB}]|{_PCT})*)"  # host
    r"(?::[0-9]*)?"  # port
)
_PATH_ABEMPTY = rf"(?:/{_PCHAR}*)*"
_TAIL = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
_HIER = (
    rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|/(?:{_PCHAR}+{_PATH_ABEMPTY})?|{_PCHAR}+{_PATH_ABEMPTY}|)"
)
_RELATIVE = (
    rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|/(?:{_PCHAR}+{_PATH_ABEMPTY})?"
    rf"|{_SEGMENT_NZ_NC}{_PATH_ABEMPTY}|)"
)
_URI = re.compile(rf"{_SCHEME}:{_HIER}{_TAIL}")
_URI_REFERENCE = re.compile(rf"(?:{_SCHEME}:{_HIER}|{_RELATIVE}){_TAIL}")


def is_uri(value: str) -> bool:
    """Whether ``value`` is an absolute URI (RFC 3986: a scheme, then the rest)."""
    return _URI.fullmatch(value) is not None


def is_uri_reference(value: str) -> bool:
    """Whether ``value`` is a URI-reference (RFC 3986: a URI, or a relative reference)."""
    return _URI_REFERENCE.fullmatch(value) is not None


def is_timestamp(value: str) -> bool:
    """Whether ``value`` is an RFC 3339 date-time (``2026-11-22T10:00:00Z``)."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return False
    text = value.upper()
    try:
        datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return False
    offset = match[8]
    return offset in ("Z", "z") or (int(offset[1:3]) < 24 and int(offset[4:6]) < 60)


def drop_nulls(attributes: Mapping[str, object]) -> dict[str, object]:
    """The attributes without those whose value is ``None`` (JSON ``null``: absent)."""
    return {name: value for name, value in attributes.items() if value is not None}


def check_attributes(attributes: Mapping[str, object]) -> None:
    """Refuse, with ``InvalidCloudEvent`` naming the attribute, what breaks the type system.

    ``attributes`` are the values as they arrived: strings (JSON, headers), and where
    the transport has types (AMQP), booleans, integers, bytes and datetimes.
    """
    missing = [name for name in _REQUIRED if name not in attributes]
    if missing:
        raise InvalidCloudEvent(f"missing required attribute(s): {', '.join(missing)}")
    if attributes["specversion"] != "1.0":
        raise InvalidCloudEvent(
            f"specversion must be '1.0', not {_show(attributes['specversion'])}"
        )
    for name, value in attributes.items():
        if name in CONTEXT_ATTRIBUTES:
            _check_context(name, value)
        elif _EXTENSION_NAME.fullmatch(name) is None or name == "data":
            raise InvalidCloudEvent(
                f"extension attribute {name[:40]!r} must be named with 1 to 20 lowercase "
                f"letters or digits"
            )
        else:
            _check_extension(name, value)


def _check_context(name: str, value: object) -> None:
    if name == "time":
        _check_timestamp(name, value)
        return
    if isinstance(value, bytes | bytearray):
        raise InvalidCloudEvent(f"attribute {name} must be a string (UTF-8 text), not bytes")
    if not isinstance(value, str):
        raise InvalidCloudEvent(f"attribute {name} must be a string, not {_show(value)}")
    if not value:
        raise InvalidCloudEvent(f"attribute {name} must not be empty")
    _check_string(name, value)
    if name == "source" and not is_uri_reference(value):
        raise InvalidCloudEvent(f"attribute source must be a URI-reference, not {_show(value)}")
    if name == "dataschema" and not is_uri(value):
        raise InvalidCloudEvent(f"attribute dataschema must be an absolute URI, not {_show(value)}")
    if name == "datacontenttype" and _MEDIA_TYPE.fullmatch(value) is None:
        raise InvalidCloudEvent(
            f"attribute datacontenttype must be a media type (RFC 2046), not {_show(value)}"
        )


def _check_extension(name: str, value: object) -> None:
    if isinstance(value, bool | bytes | bytearray):
        return  # Boolean, Binary
    if isinstance(value, int):
        if not _INT32[0] <= value <= _INT32[1]:
            raise InvalidCloudEvent(
                f"extension attribute {name} is an integer outside the 32-bit range: {value}"
            )
        return
    if isinstance(value, datetime):
        _check_timestamp(name, value)
        return
    if isinstance(value, str):
        _check_string(name, value)
        return
    raise InvalidCloudEvent(
        f"extension attribute {name} must be a string, integer, boolean, binary or "
        f"timestamp, not {type(value).__name__} {_show(value)}"
    )


def _check_timestamp(name: str, value: object) -> None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidCloudEvent(f"attribute {name} must be a timestamp with an offset")
        return
    if not isinstance(value, str) or not is_timestamp(value):
        raise InvalidCloudEvent(
            f"attribute {name} must be an RFC 3339 timestamp like 2026-11-22T10:00:00Z, "
            f"not {_show(value)}"
        )


def _check_string(name: str, value: str) -> None:
    found = _FORBIDDEN.search(value)
    if found is not None:
        raise InvalidCloudEvent(
            f"attribute {name} holds a character a CloudEvents string must not hold "
            f"(U+{ord(found[0]):04X})"
        )


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
