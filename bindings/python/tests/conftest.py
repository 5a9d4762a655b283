import itertools

import pytest

import libchat

# Cheap Argon2 for tests: they register many accounts.
FAST_HASHING = (8192, 1, 1)
PASSWORD = "correct horse battery"

_emails = itertools.count()


@pytest.fixture
def engine():
    with libchat.Engine(":memory:", password_hashing=FAST_HASHING) as eng:
        yield eng


@pytest.fixture
def new_owner(engine):
    """Registers a new account and returns (session, principal)."""

    def make(name="Owner"):
        session = engine.register(f"owner{next(_emails)}@example.com", PASSWORD, name=name)
        return session, engine.authenticate(token=session.token)

    return make


@pytest.fixture
def shop(engine, new_owner):
    """An account with an app and a customer's first message: (owner, app, first SendResult, customer)."""
    _, owner = new_owner()
    app = engine.create_app(owner, "Shop")
    sdk = engine.authenticate(api_key=app.publishable_key)
    first = engine.sdk_send_message(sdk, "Hello, I need help")
    customer = engine.authenticate(token=first.session_token, api_key=app.publishable_key)
    return owner, app, first, customer
