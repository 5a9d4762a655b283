"""The values libchat returns, as frozen dataclasses, and their conversion from the C records."""

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Generic, Iterator, List, Optional, TypeVar

from . import _native

T = TypeVar("T")


def _text(raw: Optional[bytes]) -> str:
    # libchat hands out valid UTF-8 only; "replace" keeps a broken library from raising here.
    return raw.decode("utf-8", "replace") if raw else ""


def _optional_text(raw: Optional[bytes]) -> Optional[str]:
    return _text(raw) or None


def _time(ms: int) -> Optional[datetime]:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc) if ms else None


def _json_object(raw: Optional[bytes]) -> Dict[str, Any]:
    try:
        value = json.loads(_text(raw) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class AuthSession:
    """A signed-in account: ``token`` authenticates it (``Engine.authenticate(token=...)``)."""

    account_id: str
    email: str
    name: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class App:
    """A tenant. ``secret_key`` and ``identity_secret`` are set only on the App ``create_app`` returns."""

    id: str
    account_id: str
    name: str
    publishable_key: str
    identity_verification: bool
    created_at: datetime
    updated_at: datetime
    secret_key: Optional[str] = None
    identity_secret: Optional[str] = None


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    app_id: str
    seq: int
    sender_type: str  # "customer", "operator", "account", "bot", "system"
    sender_id: Optional[str]
    text: str
    metadata: Dict[str, Any]
    client_msg_id: Optional[str]
    created_at: datetime
    edited_at: Optional[datetime]
    deleted: bool


@dataclass(frozen=True)
class Conversation:
    id: str
    app_id: str
    type: str    # "support", "dm", "group", "channel"
    status: str  # "open", "pending", "resolved", "snoozed"
    assignee_id: Optional[str]
    name: str
    metadata: Dict[str, Any]
    customer_id: Optional[str]
    last_seq: int
    last_message: Optional[Message]
    unread_count: int
    read_seq: int
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime


@dataclass(frozen=True)
class SendResult:
    """``created`` is False when a repeated ``client_msg_id`` returned the original message. ``session_token`` is
    set when the call created the customer (an SDK's first message): authenticate the customer with it."""

    message: Message
    conversation: Conversation
    created: bool
    session_token: Optional[str]
    session_expires_at: Optional[datetime]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` is None on the last one. Iterable and sized like its items."""

    items: List[T]
    next_cursor: Optional[str]

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


@dataclass(frozen=True)
class Event:
    """A live event. ``payload`` is the WebSocket frame {"type": ..., "data": {...}}; ``message`` is set for the
    message.* events. "events.dropped" (payload data {"dropped": N}) reports events lost to a full queue."""

    type: str
    app_id: Optional[str]
    conversation_id: Optional[str]
    message: Optional[Message]
    payload: Dict[str, Any] = field(repr=False)
    published_at: Optional[datetime]

    @property
    def data(self) -> Dict[str, Any]:
        return self.payload.get("data", {})


# --- conversions from the C records (which the caller frees afterwards)

def message_from_c(m: "_native.Message") -> Message:
    return Message(
        id=_text(m.id), conversation_id=_text(m.conversation_id), app_id=_text(m.app_id), seq=m.seq,
        sender_type=_text(m.sender_type), sender_id=_optional_text(m.sender_id), text=_text(m.text),
        metadata=_json_object(m.metadata_json), client_msg_id=_optional_text(m.client_msg_id),
        created_at=_time(m.created_at_ms), edited_at=_time(m.edited_at_ms), deleted=bool(m.deleted))


def conversation_from_c(c: "_native.Conversation") -> Conversation:
    return Conversation(
        id=_text(c.id), app_id=_text(c.app_id), type=_text(c.type), status=_text(c.status),
        assignee_id=_optional_text(c.assignee_id), name=_text(c.name), metadata=_json_object(c.metadata_json),
        customer_id=_optional_text(c.customer_id), last_seq=c.last_seq,
        last_message=message_from_c(c.last_message.contents) if c.last_message else None,
        unread_count=c.unread_count, read_seq=c.read_seq, created_at=_time(c.created_at_ms),
        updated_at=_time(c.updated_at_ms), last_activity_at=_time(c.last_activity_at_ms))


def app_from_c(a: "_native.App") -> App:
    return App(
        id=_text(a.id), account_id=_text(a.account_id), name=_text(a.name),
        publishable_key=_text(a.publishable_key), identity_verification=bool(a.identity_verification),
        created_at=_time(a.created_at_ms), updated_at=_time(a.updated_at_ms),
        secret_key=_optional_text(a.secret_key), identity_secret=_optional_text(a.identity_secret))


def auth_session_from_c(s: "_native.AuthSession") -> AuthSession:
    return AuthSession(account_id=_text(s.account_id), email=_text(s.email), name=_text(s.name),
                       token=_text(s.token), expires_at=_time(s.expires_at_ms))


def send_result_from_c(r: "_native.SendResult") -> SendResult:
    return SendResult(message=message_from_c(r.message.contents),
                      conversation=conversation_from_c(r.conversation.contents), created=bool(r.created),
                      session_token=_optional_text(r.session_token),
                      session_expires_at=_time(r.session_expires_at_ms))


def event_from_c(e: "_native.Event") -> Event:
    try:
        payload = json.loads(_text(e.payload_json))
    except ValueError:
        payload = {}
    return Event(type=_text(e.type), app_id=_optional_text(e.app_id),
                 conversation_id=_optional_text(e.conversation_id),
                 message=message_from_c(e.message.contents) if e.message else None,
                 payload=payload if isinstance(payload, dict) else {}, published_at=_time(e.published_at_ms))
