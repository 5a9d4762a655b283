"""The loop a host builds: register, app, a customer's first message, the owner replies, history in order."""

from datetime import datetime, timezone

import libchat
from conftest import FAST_HASHING, PASSWORD


def test_register_app_customer_reply_history(engine, new_owner):
    session, owner = new_owner(name="Ann")
    assert session.account_id.startswith("acc_")
    assert session.name == "Ann"
    assert session.expires_at > datetime.now(timezone.utc)
    assert owner.type == "account"
    assert owner.id == session.account_id

    app = engine.create_app(owner, "Shop")
    assert app.id.startswith("app_")
    assert app.publishable_key.startswith("pk_")
    assert app.secret_key.startswith("sk_")
    assert app.account_id == session.account_id
    listed = engine.list_apps(owner)
    assert [a.id for a in listed] == [app.id]
    assert listed.next_cursor is None
    assert listed[0].secret_key is None  # shown once only
    assert engine.get_app(owner, app.id).name == "Shop"

    sdk = engine.authenticate(api_key=app.publishable_key)
    assert sdk.type == "publishable"
    assert sdk.app_id == app.id
    first = engine.sdk_send_message(sdk, "Hello, I need help")
    assert first.created
    assert first.session_token
    assert first.message.seq == 1
    assert first.message.sender_type == "customer"
    assert first.conversation.type == "support"
    assert first.conversation.status == "open"
    conversation_id = first.conversation.id
    assert conversation_id.startswith("conv_")

    customer = engine.authenticate(token=first.session_token, api_key=app.publishable_key)
    assert customer.type == "customer"
    assert customer.id == first.conversation.customer_id
    second = engine.sdk_send_message(customer, "Order 42 is late", conversation_id=conversation_id,
                                     metadata={"order": 42})
    assert second.message.seq == 2
    assert second.message.metadata == {"order": 42}
    assert second.session_token is None

    conversations = engine.list_conversations(owner, app.id)
    assert [c.id for c in conversations] == [conversation_id]
    assert conversations[0].last_seq == 2
    assert conversations[0].last_message.text == "Order 42 is late"
    assert list(engine.list_conversations(owner, app.id, status="resolved")) == []

    reply = engine.send_message(owner, conversation_id, "Hi! It ships today.")
    assert reply.message.seq == 3
    assert reply.message.sender_type == "account"
    assert reply.message.sender_id == session.account_id

    server = engine.authenticate(api_key=app.secret_key)
    assert server.type == "app_server"
    note = engine.send_message(server, conversation_id, "Tracking: XYZ", client_msg_id="note-1")
    again = engine.send_message(server, conversation_id, "Tracking: XYZ", client_msg_id="note-1")
    assert note.created and not again.created
    assert again.message.id == note.message.id
    assert again.message.client_msg_id == "note-1"

    texts = ["Hello, I need help", "Order 42 is late", "Hi! It ships today.", "Tracking: XYZ"]
    for reader in (owner, customer):
        history = engine.list_messages(reader, conversation_id)
        assert [m.seq for m in history] == [1, 2, 3, 4]
        assert [m.text for m in history] == texts
    page = engine.list_messages(owner, conversation_id, after_seq=2, limit=1)
    assert [m.seq for m in page] == [3]
    assert engine.list_messages(owner, conversation_id, after_seq=4) == []

    got = engine.get_conversation(owner, conversation_id)
    assert got.last_seq == 4
    assert got.customer_id == customer.id


def test_app_server_acts_as_customer_by_external_id(engine, new_owner):
    _, owner = new_owner()
    app = engine.create_app(owner, "Shop")
    as_user = engine.authenticate(api_key=app.secret_key, user_id="user-7")
    assert as_user.type == "customer"
    result = engine.sdk_send_message(as_user, "from our backend")
    assert result.conversation.customer_id == as_user.id
    assert [c.id for c in engine.list_conversations(owner, app.id)] == [result.conversation.id]


def test_list_apps_pages_with_cursor(engine, new_owner):
    _, owner = new_owner()
    created = [engine.create_app(owner, f"App {i}").id for i in range(3)]
    first = engine.list_apps(owner, limit=2)
    assert len(first) == 2 and first.next_cursor
    rest = engine.list_apps(owner, cursor=first.next_cursor, limit=2)
    assert [a.id for a in first] + [a.id for a in rest] == created
    assert rest.next_cursor is None


def test_sqlite_file_survives_reopen(tmp_path):
    path = tmp_path / "chat.db"
    with libchat.Engine(path, password_hashing=FAST_HASHING) as engine:
        session = engine.register("carol@example.com", PASSWORD, "Carol")
        owner = engine.authenticate(token=session.token)
        app = engine.create_app(owner, "Durable")
        sdk = engine.authenticate(api_key=app.publishable_key)
        conversation_id = engine.sdk_send_message(sdk, "kept on disk").conversation.id
    with libchat.Engine(str(path), password_hashing=FAST_HASHING) as engine:
        owner = engine.authenticate(token=engine.login("carol@example.com", PASSWORD).token)
        assert [c.id for c in engine.list_conversations(owner, app.id)] == [conversation_id]
        assert [m.text for m in engine.list_messages(owner, conversation_id)] == ["kept on disk"]


def test_version():
    assert libchat.version() == libchat.__version__
