"""libchat: the embeddable customer-messaging backend, in-process, through its C ABI (libchat_c).

    import libchat

    with libchat.Engine("chat.db") as engine:           # or ":memory:"
        session = engine.register("ann@example.com", "correct horse battery", name="Ann")
        owner = engine.authenticate(token=session.token)
        app = engine.create_app(owner, "Shop")
        ...

Every failure raises a subclass of libchat.Error named after its status (NotFound, InvalidArgument, ...).
"""

from ._engine import Engine, Principal, Subscription, version
from ._errors import (Aborted, AlreadyExists, DeadlineExceeded, Error, FailedPrecondition, Internal,
                      InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable)
from ._records import App, AuthSession, Conversation, Event, Message, Page, SendResult

__version__ = "0.1.0"

__all__ = [
    "Engine", "Principal", "Subscription", "version",
    "App", "AuthSession", "Conversation", "Event", "Message", "Page", "SendResult",
    "Error", "InvalidArgument", "Unauthenticated", "PermissionDenied", "NotFound", "AlreadyExists", "Aborted",
    "ResourceExhausted", "FailedPrecondition", "Unavailable", "DeadlineExceeded", "Internal",
]
