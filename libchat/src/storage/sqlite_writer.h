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
//
// Checkpoints: SQLite's automatic checkpoint would run inside a COMMIT every
// ~1000 WAL pages, adding a page copy and two fsyncs to that batch's latency.
// Instead the writer watches the WAL size (wal hook) and, between batches:
// - from checkpoint_frames pages on, wakes a checkpointer thread (with a
//   connection of its own) that runs PASSIVE checkpoints concurrently with the
//   writer, so most pages are copied off the write path;
// - from 2 x checkpoint_frames on (or without a checkpointer), runs a PASSIVE
//   checkpoint itself, after the callers of the last batch were woken. With no
//   write in flight it catches up completely, so the next transaction restarts
//   the WAL from its beginning: a writer that is never idle would otherwise let
//   the WAL grow without bound behind a background checkpointer.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
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
    int checkpoint_frames = 4096;  // WAL pages; see "Checkpoints" above
  };

  // Takes ownership of the write connection and starts the writer thread. With
  // a `checkpoint_db` (another read-write connection to the same file), also
  // starts the checkpointer thread.
  static Result<std::unique_ptr<SqliteWriter>> Start(std::unique_ptr<SqliteConnection> db,
                                                      std::unique_ptr<SqliteConnection> checkpoint_db,
                                                      const Options& options);
  // Stop(), then closes the checkpoint and write connections.
  ~SqliteWriter();
  SqliteWriter(const SqliteWriter&) = delete;
  SqliteWriter& operator=(const SqliteWriter&) = delete;

  // Finishes every queued op, then stops the threads. Later Execute() calls get
  // kUnavailable. Idempotent; not thread-safe; must not be called from a hook.
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
  // The public view of the same counters, with the commit batch size buckets.
  StoreMetrics metrics() const;

 private:
  SqliteWriter(std::unique_ptr<SqliteConnection> db, std::unique_ptr<SqliteConnection> checkpoint_db,
               const Options& options);

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
  // sqlite3_wal_hook callback: runs on the writer thread after each commit.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int frames);
  // Between batches, on the writer thread: see "Checkpoints" above.
  void MaybeCheckpoint();
  void CheckpointLoop();

  std::unique_ptr<SqliteConnection> db_;  // touched only by the writer thread once started
  const Options options_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<SqliteWriteOp*> queue_;  // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::thread thread_;
  // Writer thread only: WAL size after the last commit, and when the checkpointer was last woken.
  int wal_frames_ = 0;
  int last_background_request_ = 0;

  std::unique_ptr<SqliteConnection> checkpoint_db_;  // touched only by the checkpointer thread once started
  std::mutex checkpoint_mu_;
  std::mutex checkpoint_run_mu_;  // held while either thread runs a checkpoint
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;    // guarded by checkpoint_mu_
  bool checkpoint_stopping_ = false;  // guarded by checkpoint_mu_
  std::thread checkpoint_thread_;

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> ops_{0};
  std::atomic<std::uint64_t> failed_batches_{0};
  std::atomic<std::uint64_t> max_batch_{0};
  std::atomic<std::uint64_t> queued_{0};  // mirrors queue_.size() for stats()
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> writer_checkpoints_{0};
  // Commits per StoreMetrics::kBatchBucketBounds bucket; written by the writer thread only.
  std::array<std::atomic<std::uint64_t>, StoreMetrics::kBatchBuckets> batch_buckets_{};
};

}  // namespace libchat::internal
