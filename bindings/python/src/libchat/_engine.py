"""Engine, Principal and Subscription: the Pythonic face of libchat_c."""

import atexit
import ctypes
import json
import logging
import os
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _native
from ._errors import Error, FailedPrecondition, InvalidArgument, error_for_code
from ._records import (App, AuthSession, Conversation, Event, Message, Page, SendResult, app_from_c,
                       auth_session_from_c, conversation_from_c, event_from_c, message_from_c, send_result_from_c)

_lib = _native.lib
_log = logging.getLogger("libchat")

Text = Union[str, bytes]

# Engines still open at interpreter exit are closed before Python finalizes, so that no event callback is
# running (or about to take the GIL) while the interpreter tears down.
_open_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@atexit.register
def _close_open_engines() -> None:
    for engine in list(_open_engines):
        engine.close()


# ctypes callbacks whose subscription was stopped from inside its own callback: that C frame is still running
# when unsubscribe returns, so the thunk must outlive it. One small object per such subscription.
_retired_callbacks: List[Any] = []


def _arg(value: Optional[Text], name: str) -> Optional[bytes]:
    """A str (or raw bytes) argument as the C string libchat expects; None stays NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        # surrogatepass: a lone surrogate reaches libchat, which rejects it as invalid UTF-8 (InvalidArgument).
        value = value.encode("utf-8", "surrogatepass")
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    if b"\0" in value:
        raise InvalidArgument(f"{name} must not contain a NUL character")
    return bytes(value)


def _metadata(metadata: Optional[Dict[str, Any]]) -> Optional[bytes]:
    return None if metadata is None else _arg(json.dumps(metadata), "metadata")


def _raise(err: ctypes.c_void_p) -> None:
    """Raises the chat_error in ``err`` (and frees it)."""
    if not err.value:
        raise Error("libchat call failed without an error")
    code = _lib.chat_error_code(err)
    message = (_lib.chat_error_message(err) or b"").decode("utf-8", "replace")
    _lib.chat_error_free(err)
    raise error_for_code(code, message)


def _call(function, *args):
    """Calls a libchat_c function that reports failure with a NULL result and a chat_error."""
    err = ctypes.c_void_p()
    result = function(*args, ctypes.byref(err))
    if not result:
        _raise(err)
    return result


class Principal:
    """Who is calling: the result of ``Engine.authenticate``. Every call on tenant data takes one; libchat decides
    from it what the caller may see and do. A value, independent of the engine's lifetime."""

    __slots__ = ("_handle",)

    def __init__(self, handle: int):
        self._handle = handle

    @property
    def type(self) -> str:
        """"account", "operator", "app_server", "publishable", "customer" or "admin"."""
        return _lib.chat_principal_type(self._handle).decode()

    @property
    def id(self) -> str:
        """"acc_…", "op_…", "cus_…"; the app id for app_server and publishable principals."""
        return _lib.chat_principal_id(self._handle).decode()

    @property
    def app_id(self) -> Optional[str]:
        return _lib.chat_principal_app_id(self._handle).decode() or None

    @property
    def account_id(self) -> Optional[str]:
        return _lib.chat_principal_account_id(self._handle).decode() or None

    def __repr__(self) -> str:
        return f"Principal(type={self.type!r}, id={self.id!r})"

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _lib.chat_principal_free(handle)


class Subscription:
    """A live-event subscription (``Engine.subscribe``). Use as a context manager or call ``unsubscribe``."""

    def __init__(self, engine: "Engine", callback: Callable[[Event], None]):
        self._engine = engine
        self._callback = callback
        self._handle: Optional[int] = None
        self._dispatch_thread: Optional[int] = None
        self._lock = threading.Lock()
        # Kept referenced for as long as libchat may call it: a collected thunk would crash the process.
        self._c_callback = _native.EVENT_CALLBACK(self._on_event)

    def _on_event(self, event_ptr, _user_data) -> None:
        self._dispatch_thread = threading.get_ident()
        try:
            self._callback(event_from_c(event_ptr.contents))
        except BaseException:  # nothing may unwind into C
            _log.exception("libchat: an event callback raised; the subscription goes on")

    @property
    def active(self) -> bool:
        return self._handle is not None

    def unsubscribe(self) -> None:
        """Stops the subscription; idempotent. When it returns, the callback is not running and will not be called
        again (called from the callback itself: it returns at once, and the callback is not called again)."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is None:
            return
        _lib.chat_unsubscribe(handle)  # waits for a running callback unless called from it
        if threading.get_ident() == self._dispatch_thread:
            _retired_callbacks.append(self._c_callback)
        self._engine._forget(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.unsubscribe()


class Engine:
    """A libchat engine over a SQLite file or, with ":memory:", an in-memory store (nothing survives close()).

    Safe to use from several threads. ``close()`` (or leaving the ``with`` block) waits for calls in progress,
    stops the subscriptions and closes the store; calls after that raise FailedPrecondition.

    ``password_hashing`` = (memory_kib, iterations, parallelism) of Argon2id; the default (19456, 2, 1) is the
    production setting, tests may lower it (memory_kib >= 8192)."""

    def __init__(self, path: Union[str, "os.PathLike[str]"], *, jwt_secret: Optional[str] = None,
                 password_hashing: Optional[Tuple[int, int, int]] = None):
        self._handle: Optional[int] = None
        self._state = threading.Condition()
        self._in_flight = 0
        self._subscriptions: List[Subscription] = []
        options = _lib.chat_options_new()
        if not options:
            raise MemoryError("libchat: out of memory")
        try:
            if jwt_secret is not None:
                _lib.chat_options_set_jwt_secret(options, _arg(jwt_secret, "jwt_secret"))
            if password_hashing is not None:
                memory_kib, iterations, parallelism = password_hashing
                _lib.chat_options_set_password_hashing(options, memory_kib, iterations, parallelism)
            self._handle = _call(_lib.chat_engine_open, _arg(os.fspath(path), "path"), options)
        finally:
            _lib.chat_options_free(options)
        _open_engines.add(self)

    # --- lifetime

    def close(self) -> None:
        """Idempotent. Must not be called from an event callback of this engine."""
        with self._state:
            if self._handle is None:
                return
            handle, self._handle = self._handle, None
            self._state.wait_for(lambda: self._in_flight == 0)
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.unsubscribe()
        _lib.chat_engine_close(handle)

    @property
    def closed(self) -> bool:
        return self._handle is None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: best effort
            pass

    def _enter(self) -> int:
        with self._state:
            if self._handle is None:
                raise FailedPrecondition("the engine is closed")
            self._in_flight += 1
            return self._handle

    def _leave(self) -> None:
        with self._state:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._state.notify_all()

    def _run(self, function, *args):
        handle = self._enter()
        try:
            return _call(function, handle, *args)
        finally:
            self._leave()

    def _forget(self, subscription: Subscription) -> None:
        with self._state:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    # --- principals and accounts

    def authenticate(self, token: Optional[str] = None, api_key: Optional[str] = None,
                     user_id: Optional[str] = None) -> Principal:
        """``token``: an account (or operator) token -> "account"; ``api_key`` "sk_…" -> "app_server" (with
        ``user_id``, an external id: that customer); ``api_key`` "pk_…" -> "publishable"; "pk_…" plus a customer's
        session token -> "customer". Raises Unauthenticated."""
        handle = self._run(_lib.chat_authenticate, _arg(token, "token"), _arg(api_key, "api_key"),
                           _arg(user_id, "user_id"))
        return Principal(handle)

    def register(self, email: str, password: str, name: str) -> AuthSession:
        """A new account, signed in. Raises AlreadyExists for a taken email, InvalidArgument for bad input."""
        ptr = self._run(_lib.chat_register, _arg(email, "email"), _arg(password, "password"), _arg(name, "name"))
        try:
            return auth_session_from_c(ptr.contents)
        finally:
            _lib.chat_auth_session_free(ptr)

    def login(self, email: str, password: str) -> AuthSession:
        """Raises Unauthenticated for an unknown email or a wrong password."""
        ptr = self._run(_lib.chat_login, _arg(email, "email"), _arg(password, "password"))
        try:
            return auth_session_from_c(ptr.contents)
        finally:
            _lib.chat_auth_session_free(ptr)

    def logout(self, principal: Principal) -> None:
        """Revokes the token that authenticated ``principal``."""
        handle = self._enter()
        try:
            err = ctypes.c_void_p()
            if _lib.chat_logout(handle, _principal(principal), ctypes.byref(err)) != 0:
                _raise(err)
        finally:
            self._leave()

    # --- apps

    def create_app(self, principal: Principal, name: str) -> App:
        """A new app of the account. The returned App's ``secret_key`` is shown this once."""
        ptr = self._run(_lib.chat_create_app, _principal(principal), _arg(name, "name"))
        try:
            return app_from_c(ptr.contents)
        finally:
            _lib.chat_app_free(ptr)

    def get_app(self, principal: Principal, app_id: str) -> App:
        ptr = self._run(_lib.chat_get_app, _principal(principal), _arg(app_id, "app_id"))
        try:
            return app_from_c(ptr.contents)
        finally:
            _lib.chat_app_free(ptr)

    def list_apps(self, principal: Principal, cursor: Optional[str] = None, limit: int = 50) -> Page[App]:
        """Oldest first; pass ``next_cursor`` on for the next page."""
        ptr = self._run(_lib.chat_list_apps, _principal(principal), _arg(cursor, "cursor"), limit)
        try:
            page = ptr.contents
            return Page([app_from_c(page.items[i].contents) for i in range(page.count)],
                        page.next_cursor.decode() or None)
        finally:
            _lib.chat_app_list_free(ptr)

    # --- messages and conversations

    def send_message(self, principal: Principal, conversation_id: str, text: Text,
                     client_msg_id: Optional[str] = None, metadata: Optional[Dict[str, Any]] = None) -> SendResult:
        """Posts into a conversation as the app's team, its server, or a customer member. A retry with the same
        ``client_msg_id`` returns the original message (``created`` False)."""
        ptr = self._run(_lib.chat_send_message, _principal(principal), _arg(conversation_id, "conversation_id"),
                        _arg(text, "text"), _arg(client_msg_id, "client_msg_id"), _metadata(metadata))
        try:
            return send_result_from_c(ptr.contents)
        finally:
            _lib.chat_send_result_free(ptr)

    def sdk_send_message(self, principal: Principal, text: Text, conversation_id: Optional[str] = None,
                         client_msg_id: Optional[str] = None,
                         metadata: Optional[Dict[str, Any]] = None) -> SendResult:
        """The SDK side. Without ``conversation_id`` a new support conversation is started; for a publishable
        principal a new customer too, whose ``session_token`` the result carries."""
        ptr = self._run(_lib.chat_sdk_send_message, _principal(principal), _arg(conversation_id, "conversation_id"),
                        _arg(text, "text"), _arg(client_msg_id, "client_msg_id"), _metadata(metadata))
        try:
            return send_result_from_c(ptr.contents)
        finally:
            _lib.chat_send_result_free(ptr)

    def list_messages(self, principal: Principal, conversation_id: str, after_seq: Optional[int] = None,
                      limit: int = 50) -> List[Message]:
        """History in seq order: messages with seq > ``after_seq`` (None: from the start), at most ``limit``."""
        ptr = self._run(_lib.chat_list_messages, _principal(principal), _arg(conversation_id, "conversation_id"),
                        -1 if after_seq is None else after_seq, limit)
        try:
            messages = ptr.contents
            return [message_from_c(messages.items[i].contents) for i in range(messages.count)]
        finally:
            _lib.chat_message_list_free(ptr)

    def list_conversations(self, principal: Principal, app_id: str, status: Optional[str] = None,
                           cursor: Optional[str] = None, limit: int = 50) -> Page[Conversation]:
        """The app's conversations the principal may see, newest activity first."""
        ptr = self._run(_lib.chat_list_conversations, _principal(principal), _arg(app_id, "app_id"),
                        _arg(status, "status"), _arg(cursor, "cursor"), limit)
        try:
            page = ptr.contents
            return Page([conversation_from_c(page.items[i].contents) for i in range(page.count)],
                        page.next_cursor.decode() or None)
        finally:
            _lib.chat_conversation_list_free(ptr)

    def get_conversation(self, principal: Principal, conversation_id: str) -> Conversation:
        ptr = self._run(_lib.chat_get_conversation, _principal(principal), _arg(conversation_id, "conversation_id"))
        try:
            return conversation_from_c(ptr.contents)
        finally:
            _lib.chat_conversation_free(ptr)

    # --- live events

    def subscribe(self, callback: Callable[[Event], None], viewer: Optional[Principal] = None,
                  max_queued: int = 0) -> Subscription:
        """Calls ``callback(event)`` for every event from now on, or only those ``viewer`` may see.

        The callback runs on a thread of the subscription's own (not the caller's, never a writer's), one event
        at a time, in publish order; it may call this engine (except close()). An exception it raises is logged
        to the "libchat" logger. Events wait in a queue of at most ``max_queued`` (0: 10000); when it is full
        they are dropped and an "events.dropped" event says how many."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        if max_queued < 0:
            raise InvalidArgument("max_queued must not be negative")
        subscription = Subscription(self, callback)
        handle = self._enter()
        try:
            viewer_handle = None if viewer is None else _principal(viewer)
            subscription._handle = _call(_lib.chat_subscribe, handle, viewer_handle, subscription._c_callback,
                                         None, max_queued)
            with self._state:
                self._subscriptions.append(subscription)
        finally:
            self._leave()
        return subscription


def _principal(principal: Principal) -> int:
    if not isinstance(principal, Principal):
        raise TypeError(f"principal must be a libchat.Principal, not {type(principal).__name__}")
    return principal._handle


def version() -> str:
    """The version of the libchat library in use."""
    return _lib.chat_version().decode()
