"""The ctypes declarations of libchat_c.h and the loading of the shared library shipped in this package."""

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint32, c_void_p
from pathlib import Path

_LIBRARY_NAMES = ("libchat_c.so", "libchat_c.dylib", "chat_c.dll")


def _library_path() -> str:
    here = Path(__file__).resolve().parent
    for name in _LIBRARY_NAMES:
        candidate = here / name
        if candidate.exists():
            return str(candidate)
    # Not installed with the package (e.g. running from a source checkout): an explicitly named library.
    explicit = os.environ.get("LIBCHAT_C_LIBRARY")
    if explicit:
        return explicit
    raise ImportError(
        "libchat: the native library libchat_c is missing from the package in " + str(here) +
        "; install the package with pip (which builds or copies it), or set LIBCHAT_C_LIBRARY")


# --- records (read-only views of the structs in libchat_c.h; field order is the ABI)

class Message(ctypes.Structure):
    _fields_ = [
        ("id", c_char_p), ("conversation_id", c_char_p), ("app_id", c_char_p), ("seq", c_int64),
        ("sender_type", c_char_p), ("sender_id", c_char_p), ("text", c_char_p), ("metadata_json", c_char_p),
        ("client_msg_id", c_char_p), ("created_at_ms", c_int64), ("edited_at_ms", c_int64), ("deleted", c_int),
    ]


class MessageList(ctypes.Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(POINTER(Message)))]


class Conversation(ctypes.Structure):
    _fields_ = [
        ("id", c_char_p), ("app_id", c_char_p), ("type", c_char_p), ("status", c_char_p),
        ("assignee_id", c_char_p), ("name", c_char_p), ("metadata_json", c_char_p), ("customer_id", c_char_p),
        ("last_seq", c_int64), ("last_message", POINTER(Message)), ("unread_count", c_int64),
        ("read_seq", c_int64), ("created_at_ms", c_int64), ("updated_at_ms", c_int64),
        ("last_activity_at_ms", c_int64),
    ]


class ConversationList(ctypes.Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(POINTER(Conversation))), ("next_cursor", c_char_p)]


class App(ctypes.Structure):
    _fields_ = [
        ("id", c_char_p), ("account_id", c_char_p), ("name", c_char_p), ("publishable_key", c_char_p),
        ("secret_key", c_char_p), ("identity_secret", c_char_p), ("identity_verification", c_int),
        ("created_at_ms", c_int64), ("updated_at_ms", c_int64),
    ]


class AppList(ctypes.Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(POINTER(App))), ("next_cursor", c_char_p)]


class AuthSession(ctypes.Structure):
    _fields_ = [
        ("account_id", c_char_p), ("email", c_char_p), ("name", c_char_p), ("token", c_char_p),
        ("expires_at_ms", c_int64),
    ]


class SendResult(ctypes.Structure):
    _fields_ = [
        ("message", POINTER(Message)), ("conversation", POINTER(Conversation)), ("created", c_int),
        ("session_token", c_char_p), ("session_expires_at_ms", c_int64),
    ]


class Event(ctypes.Structure):
    _fields_ = [
        ("type", c_char_p), ("app_id", c_char_p), ("conversation_id", c_char_p), ("message", POINTER(Message)),
        ("payload_json", c_char_p), ("published_at_ms", c_int64),
    ]


EVENT_CALLBACK = ctypes.CFUNCTYPE(None, POINTER(Event), c_void_p)

# Opaque handles are plain pointers (c_void_p); chat_error** is a pointer to one.
_ERR = POINTER(c_void_p)


def _declare(lib: ctypes.CDLL) -> None:
    def fn(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    fn("chat_error_code", c_int, c_void_p)
    fn("chat_error_message", c_char_p, c_void_p)
    fn("chat_error_free", None, c_void_p)
    fn("chat_code_name", c_char_p, c_int)
    fn("chat_version", c_char_p)

    fn("chat_options_new", c_void_p)
    fn("chat_options_free", None, c_void_p)
    fn("chat_options_set_jwt_secret", None, c_void_p, c_char_p)
    fn("chat_options_set_password_hashing", None, c_void_p, c_uint32, c_uint32, c_uint32)
    fn("chat_engine_open", c_void_p, c_char_p, c_void_p, _ERR)
    fn("chat_engine_close", None, c_void_p)

    fn("chat_authenticate", c_void_p, c_void_p, c_char_p, c_char_p, c_char_p, _ERR)
    for accessor in ("chat_principal_type", "chat_principal_id", "chat_principal_app_id",
                     "chat_principal_account_id"):
        fn(accessor, c_char_p, c_void_p)
    fn("chat_principal_free", None, c_void_p)

    fn("chat_register", POINTER(AuthSession), c_void_p, c_char_p, c_char_p, c_char_p, _ERR)
    fn("chat_login", POINTER(AuthSession), c_void_p, c_char_p, c_char_p, _ERR)
    fn("chat_logout", c_int, c_void_p, c_void_p, _ERR)
    fn("chat_auth_session_free", None, POINTER(AuthSession))

    fn("chat_create_app", POINTER(App), c_void_p, c_void_p, c_char_p, _ERR)
    fn("chat_get_app", POINTER(App), c_void_p, c_void_p, c_char_p, _ERR)
    fn("chat_list_apps", POINTER(AppList), c_void_p, c_void_p, c_char_p, c_int, _ERR)
    fn("chat_app_free", None, POINTER(App))
    fn("chat_app_list_free", None, POINTER(AppList))

    fn("chat_send_message", POINTER(SendResult), c_void_p, c_void_p, c_char_p, c_char_p, c_char_p, c_char_p, _ERR)
    fn("chat_sdk_send_message", POINTER(SendResult), c_void_p, c_void_p, c_char_p, c_char_p, c_char_p, c_char_p,
       _ERR)
    fn("chat_send_result_free", None, POINTER(SendResult))
    fn("chat_list_messages", POINTER(MessageList), c_void_p, c_void_p, c_char_p, c_int64, c_int, _ERR)
    fn("chat_message_list_free", None, POINTER(MessageList))
    fn("chat_list_conversations", POINTER(ConversationList), c_void_p, c_void_p, c_char_p, c_char_p, c_char_p,
       c_int, _ERR)
    fn("chat_get_conversation", POINTER(Conversation), c_void_p, c_void_p, c_char_p, _ERR)
    fn("chat_conversation_free", None, POINTER(Conversation))
    fn("chat_conversation_list_free", None, POINTER(ConversationList))

    fn("chat_subscribe", c_void_p, c_void_p, c_void_p, EVENT_CALLBACK, c_void_p, c_size_t, _ERR)
    fn("chat_unsubscribe", None, c_void_p)


# CDLL releases the GIL during every call, so event callbacks (which take it) can run meanwhile.
lib = ctypes.CDLL(_library_path())
_declare(lib)
