"""Every failure is a libchat.Error subclass named after its status."""

import pytest

import libchat
from conftest import FAST_HASHING, PASSWORD


def test_exception_hierarchy():
    for cls in (libchat.InvalidArgument, libchat.Unauthenticated, libchat.PermissionDenied, libchat.NotFound,
                libchat.AlreadyExists, libchat.Aborted, libchat.ResourceExhausted, libchat.FailedPrecondition,
                libchat.Unavailable, libchat.DeadlineExceeded, libchat.Internal):
        assert issubclass(cls, libchat.Error)
    assert libchat.NotFound.code_name == "not_found" and libchat.NotFound.code == 4


def test_accounts(engine, new_owner):
    session, _ = new_owner()
    with pytest.raises(libchat.Unauthenticated) as raised:
        engine.login(session.email, "wrong password!")
    assert raised.value.code_name == "unauthenticated" and raised.value.message
    with pytest.raises(libchat.Unauthenticated):
        engine.login("nobody@example.com", PASSWORD)
    with pytest.raises(libchat.AlreadyExists):
        engine.register(session.email, PASSWORD, "Again")
    with pytest.raises(libchat.InvalidArgument):
        engine.register("not-an-email", PASSWORD, "X")
    with pytest.raises(libchat.InvalidArgument):
        engine.register("short@example.com", "short", "X")
    with pytest.raises(libchat.Unauthenticated):
        engine.authenticate(token="not-a-token")
    with pytest.raises(libchat.Unauthenticated):
        engine.authenticate(api_key="pk_unknown")
    with pytest.raises(libchat.Unauthenticated):
        engine.authenticate()


def test_logout_revokes_the_token(engine, new_owner):
    session, owner = new_owner()
    engine.logout(owner)
    with pytest.raises(libchat.Unauthenticated):
        engine.authenticate(token=session.token)


def test_unknown_and_foreign_ids_are_not_found(engine, new_owner, shop):
    owner, app, first, customer = shop
    conversation_id = first.conversation.id
    with pytest.raises(libchat.NotFound):
        engine.get_conversation(owner, "conv_doesnotexist")
    with pytest.raises(libchat.NotFound):
        engine.list_messages(owner, "garbage")
    with pytest.raises(libchat.NotFound):
        engine.get_app(owner, "app_doesnotexist")

    _, stranger = new_owner()
    with pytest.raises(libchat.NotFound):
        engine.get_app(stranger, app.id)
    with pytest.raises(libchat.NotFound):
        engine.list_conversations(stranger, app.id)
    with pytest.raises(libchat.NotFound):
        engine.get_conversation(stranger, conversation_id)
    with pytest.raises(libchat.NotFound):
        engine.list_messages(stranger, conversation_id)
    with pytest.raises(libchat.NotFound):
        engine.send_message(stranger, conversation_id, "hijack")

    other_customer_first = engine.sdk_send_message(engine.authenticate(api_key=app.publishable_key), "me too")
    other_customer = engine.authenticate(token=other_customer_first.session_token, api_key=app.publishable_key)
    with pytest.raises(libchat.NotFound):
        engine.list_messages(other_customer, conversation_id)
    with pytest.raises(libchat.PermissionDenied):
        engine.list_apps(customer)


def test_invalid_input(engine, shop):
    owner, app, first, _ = shop
    conversation_id = first.conversation.id
    with pytest.raises(libchat.InvalidArgument):
        engine.send_message(owner, conversation_id, b"bad \xff\xfe utf-8")
    with pytest.raises(libchat.InvalidArgument):
        engine.send_message(owner, conversation_id, "lone \udc80 surrogate")
    with pytest.raises(libchat.InvalidArgument):
        engine.send_message(owner, conversation_id, "")
    with pytest.raises(libchat.InvalidArgument):
        engine.send_message(owner, conversation_id, "nul \0 inside")
    with pytest.raises(libchat.InvalidArgument):
        engine.send_message(owner, conversation_id, "x" * 40000)
    with pytest.raises(libchat.InvalidArgument):
        engine.list_messages(owner, conversation_id, limit=1000)
    with pytest.raises(libchat.InvalidArgument):
        engine.list_conversations(owner, app.id, status="closed")
    assert [m.seq for m in engine.list_messages(owner, conversation_id)] == [1]  # nothing rejected was stored
    # Unicode that is valid goes through intact.
    text = "naïve café ✓ 😀"
    assert engine.send_message(owner, conversation_id, text).message.text == text


def test_wrong_types_are_type_errors(engine, shop):
    owner, _, first, _ = shop
    with pytest.raises(TypeError):
        engine.send_message("not a principal", first.conversation.id, "hi")
    with pytest.raises(TypeError):
        engine.send_message(owner, first.conversation.id, 42)


def test_bad_engine_settings():
    with pytest.raises(libchat.InvalidArgument):
        libchat.Engine("")
    with pytest.raises(libchat.InvalidArgument):
        libchat.Engine(":memory:", password_hashing=(1024, 1, 1))


def test_closed_engine():
    engine = libchat.Engine(":memory:", password_hashing=FAST_HASHING)
    engine.close()
    engine.close()  # idempotent
    assert engine.closed
    with pytest.raises(libchat.FailedPrecondition):
        engine.register("late@example.com", PASSWORD, "Late")
