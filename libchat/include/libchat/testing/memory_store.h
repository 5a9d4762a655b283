// NewMemoryStore: an in-memory Store for tests and demos. Supported test double
// (docs/testing.md).
//
//   libchat::Options options;
//   options.store = libchat::testing::NewMemoryStore();
//
// Supported: the whole Store contract of providers/store.h, kept the way the
// SQLite store keeps it (it runs the same contract tests): unique emails and
// keys, gapless per-conversation seq, client_msg_id idempotency, receipts that
// only move forward, commit hooks in commit order, outbox entries enqueued
// atomically with the change that caused them, cursors, orderings and the
// knowledge-base search (BM25 with a simple English stemmer; it orders clear
// cases like SQLite's FTS5 does, exact scores differ).
//
// Not supported, by design:
//  - Durability. Nothing survives the process; "a write that returned OK is
//    durable" holds only for the store object's lifetime. Each call of
//    NewMemoryStore is a new, empty, independent store.
//  - Failure. CheckWritable is always OK and no call fails with kUnavailable;
//    to test a failing store, wrap this one in a Store of your own that
//    delegates and injects errors (examples/custom_store shows the delegation).
//  - Monitoring: Metrics() reports nothing (StoreMetrics::available is false).
//  - Scale. One mutex serializes every call; fine for tests, not a production
//    store.
//
// Thread-safety: every method may be called concurrently; each call is atomic
// (one lock held for its whole duration). Commit hooks and outbox callbacks run
// under that lock, so, as the Store contract already requires, they must not
// call back into the store. Several Chat objects may share one store, like
// several processes sharing one SQLite file; give them the same
// DeliveryOptions::secrets_key (without one each Chat seals webhook and email
// secrets with a random key of its own, which the others cannot open).
//
// The returned store is owned by its shared_ptr; it needs no other object to
// outlive it.
#pragma once

#include <memory>

#include "libchat/export.h"
#include "libchat/providers/store.h"

namespace libchat::testing {

LIBCHAT_API std::shared_ptr<Store> NewMemoryStore();

}  // namespace libchat::testing
