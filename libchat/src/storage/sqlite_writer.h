// The single writer of the SQLite store, doing group commit.
//
// Callers hand a write operation (a closure over the write connection) to
// Execute(), which queues it and blocks until it is finished. One thread owns
// the write connection and loops:
//   take every queued op (at most max_batch_size) -> BEGIN IMMEDIATE ->
//   for each op: SAVEPOINT, run, RELEASE (or ROLLBACK TO on failure) ->
//   COMMIT once (one fsync for the whole batch) -> after-commit hooks of the
//   successful ops, in batch order -> wake the callers.
// So an op that fails (say, a unique violation) is undone alone and reports its
// own Status, its neighbours still commit; if BEGIN or COMMIT fails (or SQLite
// abandons the transaction), every op of the batch fails with kUnavailable.
// Because there is one writer and hooks run in batch order before the next
// batch starts, hooks observe commits in the global commit order.
//
// Queue bound: when max_queue ops are already waiting, Execute returns
// kResourceExhausted at once instead of blocking (callers block anyway, so the
// queue only fills when that many threads write at the same moment).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "libchat/status.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_store.h"

namespace libchat::internal {

// One queued write. Lives on the caller's stack for the duration of Execute():
// no allocation per write.
class SqliteWriteOp {
 public:
  // Runs on the writer thread inside the op's own SAVEPOINT. A non-OK Status
  // rolls the op back (alone) and becomes the op's result.
  Status (*run)(void* ctx, SqliteConnection& db) = nullptr;
  void* run_ctx = nullptr;
  // Optional. Runs on the writer thread after the batch committed, only if run
  // succeeded. Must not block and must not call back into the store.
  void (*after_commit)(void* ctx) = nullptr;
  void* after_ctx = nullptr;

 private:
  friend class SqliteWriter;
  Status status_;
  bool done_ = false;  // guarded by SqliteWriter::mu_
  std::condition_variable cv_;
};

class SqliteWriter {
 public:
  struct Options {
    int max_batch_size = 1000;
    std::size_t max_queue = 100000;
  };

  // Takes ownership of the write connection and starts the writer thread.
  static Result<std::unique_ptr<SqliteWriter>> Start(std::unique_ptr<SqliteConnection> db, const Options& options);
  // Stop(), then closes the write connection.
  ~SqliteWriter();
  SqliteWriter(const SqliteWriter&) = delete;
  SqliteWriter& operator=(const SqliteWriter&) = delete;

  // Finishes every queued op, then stops the thread. Later Execute() calls get
  // kUnavailable. Idempotent; must not be called from a hook.
  void Stop();

  // Queues `op` and waits until it committed or failed; returns its Status.
  // kResourceExhausted when the queue is full, kUnavailable once stopped,
  // kFailedPrecondition when called from a hook (it would deadlock).
  Status Execute(SqliteWriteOp& op);

  // Convenience over Execute(op): `run` is callable as Status(SqliteConnection&),
  // `after` as void(). Both must stay alive until the call returns (they do: it blocks).
  template <typename Run>
  Status Execute(Run& run) {
    SqliteWriteOp op;
    op.run = &Invoke<Run>;
    op.run_ctx = &run;
    return Execute(op);
  }
  template <typename Run, typename After>
  Status Execute(Run& run, After& after) {
    SqliteWriteOp op;
    op.run = &Invoke<Run>;
    op.run_ctx = &run;
    op.after_commit = &InvokeAfter<After>;
    op.after_ctx = &after;
    return Execute(op);
  }

  SqliteStoreStats stats() const;

 private:
  SqliteWriter(std::unique_ptr<SqliteConnection> db, const Options& options);

  template <typename Run>
  static Status Invoke(void* ctx, SqliteConnection& db) {
    return (*static_cast<Run*>(ctx))(db);
  }
  template <typename After>
  static void InvokeAfter(void* ctx) {
    (*static_cast<After*>(ctx))();
  }

  void Loop();
  void RunBatch(const std::vector<SqliteWriteOp*>& batch);
  // Runs a cached transaction-control statement (BEGIN, COMMIT, SAVEPOINT...).
  Status Control(const char* sql, const char* context);
  void FailBatch(const std::vector<SqliteWriteOp*>& batch, const Status& cause);

  std::unique_ptr<SqliteConnection> db_;  // touched only by the writer thread once started
  const Options options_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<SqliteWriteOp*> queue_;  // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::thread thread_;

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> ops_{0};
  std::atomic<std::uint64_t> failed_batches_{0};
  std::atomic<std::uint64_t> max_batch_{0};
  std::atomic<std::uint64_t> queued_{0};  // mirrors queue_.size() for stats()
};

}  // namespace libchat::internal
