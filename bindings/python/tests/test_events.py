"""Live events through a Python callable, on the subscription's own thread."""

import queue
import threading

import libchat

TIMEOUT = 10


def messages_only(events):
    return [e for e in events if e.type == "message.created"]


def wait_messages(q, n):
    """Events from ``q`` until ``n`` message.created ones arrived (within TIMEOUT each); returns those n."""
    events = []
    while len(messages_only(events)) < n:
        events.append(q.get(timeout=TIMEOUT))
    return messages_only(events)


def test_owner_receives_message_events_in_order(engine, new_owner):
    _, owner = new_owner()
    app = engine.create_app(owner, "Shop")
    received = queue.Queue()
    callback_threads = set()

    def on_event(event):
        callback_threads.add(threading.get_ident())
        received.put(event)

    with engine.subscribe(on_event, viewer=owner) as subscription:
        assert subscription.active
        sdk = engine.authenticate(api_key=app.publishable_key)
        first = engine.sdk_send_message(sdk, "one")
        conversation_id = first.conversation.id
        engine.send_message(owner, conversation_id, "two")
        engine.send_message(owner, conversation_id, "three")
        events = []
        while len(messages_only(events)) < 3:
            events.append(received.get(timeout=TIMEOUT))
    assert not subscription.active

    created = messages_only(events)
    assert [e.message.seq for e in created] == [1, 2, 3]
    assert [e.message.text for e in created] == ["one", "two", "three"]
    for event in created:
        assert event.conversation_id == conversation_id
        assert event.app_id == app.id
        assert event.payload["type"] == "message.created"
        assert event.data["seq"] == event.message.seq
        assert event.data["text"] == event.message.text
        assert event.data["sender"]["type"] in ("customer", "account")
        assert event.published_at is not None
    assert any(e.type == "conversation.created" and e.data["id"] == conversation_id for e in events)
    assert threading.get_ident() not in callback_threads


def test_viewer_sees_only_its_own(engine, new_owner):
    _, owner = new_owner()
    _, other = new_owner()
    app = engine.create_app(owner, "Shop")
    engine.create_app(other, "Elsewhere")
    mine, everything = queue.Queue(), queue.Queue()
    with engine.subscribe(mine.put, viewer=other), engine.subscribe(everything.put):
        sdk = engine.authenticate(api_key=app.publishable_key)
        engine.sdk_send_message(sdk, "not for the other account")
        events = []
        while len(messages_only(events)) < 1:
            events.append(everything.get(timeout=TIMEOUT))
    assert mine.empty()


def test_unsubscribed_callback_is_not_called_again(engine, shop):
    owner, app, first, _ = shop
    stopped, still = queue.Queue(), queue.Queue()
    subscription = engine.subscribe(stopped.put)
    with engine.subscribe(still.put):
        subscription.unsubscribe()
        subscription.unsubscribe()  # idempotent
        engine.send_message(owner, first.conversation.id, "after")
        assert [e.message.text for e in wait_messages(still, 1)] == ["after"]
    assert stopped.empty()


def test_callback_may_call_the_engine_and_unsubscribe_itself(engine, shop):
    owner, _, first, _ = shop
    conversation_id = first.conversation.id
    results, reference = queue.Queue(), queue.Queue()
    holder = {}

    def on_event(event):
        if event.type != "message.created":
            return
        # Back into the engine from the callback: allowed.
        history = engine.list_messages(owner, conversation_id, after_seq=event.message.seq - 1, limit=1)
        results.put(history[0].id == event.message.id)
        holder["subscription"].unsubscribe()  # from its own callback: returns at once

    holder["subscription"] = engine.subscribe(on_event)
    with engine.subscribe(reference.put):
        for text in ("first", "second", "third"):
            engine.send_message(owner, conversation_id, text)
        # Once another subscription has all three, a callback that was still registered would have run too.
        assert [e.message.text for e in wait_messages(reference, 3)] == ["first", "second", "third"]
    assert results.get(timeout=TIMEOUT) is True
    assert results.empty()
    assert not holder["subscription"].active


def test_a_raising_callback_is_logged_and_the_subscription_goes_on(engine, shop, caplog):
    owner, _, first, _ = shop
    seen = queue.Queue()

    def on_event(event):
        if event.type == "message.created":
            seen.put(event.message.text)
            if event.message.text == "boom":
                raise RuntimeError("callback failure")

    with engine.subscribe(on_event):
        engine.send_message(owner, first.conversation.id, "boom")
        engine.send_message(owner, first.conversation.id, "after boom")
        assert [seen.get(timeout=TIMEOUT), seen.get(timeout=TIMEOUT)] == ["boom", "after boom"]
    assert any("callback raised" in r.getMessage() for r in caplog.records)


def test_full_queue_drops_and_reports(engine, shop):
    owner, _, first, _ = shop
    conversation_id = first.conversation.id
    release = threading.Event()
    bounded, reference = queue.Queue(), queue.Queue()

    def slow(event):
        bounded.put(event)
        release.wait(TIMEOUT)  # holds the first event until the test has sent everything

    with engine.subscribe(slow, max_queued=2), engine.subscribe(reference.put):
        for i in range(6):
            engine.send_message(owner, conversation_id, f"m{i}")
        published = []
        while len(messages_only(published)) < 6:  # the unbounded subscription sees everything
            published.append(reference.get(timeout=TIMEOUT))
        release.set()
        got = []
        while len([e for e in got if e.type != "events.dropped"]) + \
                sum(e.data["dropped"] for e in got if e.type == "events.dropped") < len(published):
            got.append(bounded.get(timeout=TIMEOUT))

    dropped = [e for e in got if e.type == "events.dropped"]
    assert dropped, "a queue of 2 behind a blocked callback must drop some of 6 events"
    assert all(e.data["dropped"] > 0 and e.conversation_id is None and e.message is None for e in dropped)
    seqs = [e.message.seq for e in got if e.type == "message.created"]
    assert seqs and seqs == sorted(seqs)  # what got through is in order
    assert bounded.empty()


def test_close_stops_subscriptions():
    engine = libchat.Engine(":memory:", password_hashing=(8192, 1, 1))
    subscription = engine.subscribe(lambda e: None)
    engine.close()
    assert not subscription.active
    subscription.unsubscribe()  # harmless after close
