#include "storage/sqlite_writer.h"

#include <algorithm>
#include <exception>
#include <string>
#include <system_error>
#include <utility>

namespace libchat::internal {
namespace {

// One name is enough: savepoints of a batch are sequential, never nested.
constexpr const char kBegin[] = "BEGIN IMMEDIATE";
constexpr const char kCommit[] = "COMMIT";
constexpr const char kRollback[] = "ROLLBACK";
constexpr const char kSavepoint[] = "SAVEPOINT op";
constexpr const char kRelease[] = "RELEASE op";
constexpr const char kRollbackTo[] = "ROLLBACK TO op";

}  // namespace

Result<std::unique_ptr<SqliteWriter>> SqliteWriter::Start(std::unique_ptr<SqliteConnection> db,
                                                           std::unique_ptr<SqliteConnection> checkpoint_db,
                                                           const Options& options) {
  std::unique_ptr<SqliteWriter> writer(new SqliteWriter(std::move(db), std::move(checkpoint_db), options));
  try {
    if (writer->checkpoint_db_ != nullptr) {
      writer->checkpoint_thread_ = std::thread([w = writer.get()] { w->CheckpointLoop(); });
    }
    // Replaces SQLite's automatic checkpoint on the write connection.
    sqlite3_wal_hook(writer->db_->handle(), &SqliteWriter::OnWalCommit, writer.get());
    writer->thread_ = std::thread([w = writer.get()] { w->Loop(); });
  } catch (const std::system_error&) {
    return InternalError("cannot start the store writer thread");  // ~SqliteWriter joins what started
  }
  return writer;
}

SqliteWriter::SqliteWriter(std::unique_ptr<SqliteConnection> db,
                           std::unique_ptr<SqliteConnection> checkpoint_db, const Options& options)
    : db_(std::move(db)), options_(options), checkpoint_db_(std::move(checkpoint_db)) {}

SqliteWriter::~SqliteWriter() {
  Stop();
  checkpoint_db_.reset();
  db_.reset();
}

void SqliteWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // After the writer: its last commits may still have asked for a checkpoint
  // (the final one happens when the write connection closes).
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_one();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

int SqliteWriter::OnWalCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  static_cast<SqliteWriter*>(self)->wal_frames_ = frames;
  return SQLITE_OK;
}

void SqliteWriter::MaybeCheckpoint() {
  const int frames = wal_frames_;
  const int threshold = options_.checkpoint_frames;
  if (frames < last_background_request_) last_background_request_ = 0;  // the WAL was restarted
  if (frames < threshold) return;
  if (checkpoint_db_ != nullptr && frames / 2 < threshold) {
    // Wake the checkpointer about twice per WAL cycle, not after every batch:
    // each checkpoint costs two fsyncs.
    if (frames - last_background_request_ >= threshold / 2) {
      last_background_request_ = frames;
      {
        std::lock_guard<std::mutex> lock(checkpoint_mu_);
        checkpoint_wanted_ = true;
      }
      checkpoint_cv_.notify_one();
    }
    return;
  }
  // If the checkpointer is at it, wait for it (it is copying most of these
  // pages anyway) rather than fail with BUSY and let the WAL grow meanwhile.
  std::lock_guard<std::mutex> running(checkpoint_run_mu_);
  int log_frames = 0;
  int copied_frames = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                     &copied_frames);
  if (rc == SQLITE_OK) {
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
    writer_checkpoints_.fetch_add(1, std::memory_order_relaxed);
  }
}

void SqliteWriter::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || checkpoint_stopping_; });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE: copies what no reader still needs, without waiting for or
    // blocking the writer or readers.
    std::lock_guard<std::mutex> running(checkpoint_run_mu_);
    int log_frames = 0;
    int copied_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log_frames, &copied_frames);
    if (rc == SQLITE_OK) checkpoints_.fetch_add(1, std::memory_order_relaxed);
  }
}

Status SqliteWriter::Execute(SqliteWriteOp& op) {
  // A write from a commit hook would wait for the very thread running it.
  if (std::this_thread::get_id() == thread_.get_id()) {
    return FailedPreconditionError("the store was called from a commit hook");
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return UnavailableError("the store is closed");
  if (queue_.size() >= options_.max_queue) return ResourceExhaustedError("the store write queue is full");
  queue_.push_back(&op);
  queued_.store(queue_.size(), std::memory_order_relaxed);
  work_cv_.notify_one();
  op.cv_.wait(lock, [&op] { return op.done_; });
  return std::move(op.status_);
}

SqliteStoreStats SqliteWriter::stats() const {
  SqliteStoreStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.ops = ops_.load(std::memory_order_relaxed);
  s.failed_batches = failed_batches_.load(std::memory_order_relaxed);
  s.max_batch = max_batch_.load(std::memory_order_relaxed);
  s.queued = queued_.load(std::memory_order_relaxed);
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.writer_checkpoints = writer_checkpoints_.load(std::memory_order_relaxed);
  return s;
}

StoreMetrics SqliteWriter::metrics() const {
  StoreMetrics m;
  m.available = true;
  for (std::size_t i = 0; i < batch_buckets_.size(); ++i) {
    m.commit_batch_sizes[i] = batch_buckets_[i].load(std::memory_order_relaxed);
  }
  m.commits = commits_.load(std::memory_order_relaxed);
  m.writes = ops_.load(std::memory_order_relaxed);
  m.failed_commits = failed_batches_.load(std::memory_order_relaxed);
  m.write_queue = queued_.load(std::memory_order_relaxed);
  return m;
}

void SqliteWriter::Loop() {
  const std::size_t max_batch = static_cast<std::size_t>(std::max(1, options_.max_batch_size));
  std::vector<SqliteWriteOp*> batch;
  batch.reserve(std::min<std::size_t>(max_batch, 4096));
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      // When stopping, keep going until the queue is drained.
      if (queue_.empty()) return;
      const std::size_t n = std::min(queue_.size(), max_batch);
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    RunBatch(batch);
    {
      // Notify under the lock: once done_ is visible the caller may return and
      // destroy the op (and its condition variable).
      std::lock_guard<std::mutex> lock(mu_);
      for (SqliteWriteOp* op : batch) {
        op->done_ = true;
        op->cv_.notify_one();
      }
    }
    batch.clear();
    MaybeCheckpoint();
  }
}

Status SqliteWriter::Control(const char* sql, const char* context) {
  auto stmt = db_->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run(context);
}

void SqliteWriter::FailBatch(const std::vector<SqliteWriteOp*>& batch, const Status& cause) {
  // Whatever the cause, nothing of this batch is durable: the caller may retry.
  Status failed = cause.code() == StatusCode::kUnavailable
                      ? cause
                      : UnavailableError("the write transaction failed: " + cause.message());
  for (SqliteWriteOp* op : batch) op->status_ = failed;
  failed_batches_.fetch_add(1, std::memory_order_relaxed);
  if (!db_->AutoCommit()) Control(kRollback, "cannot roll back").IgnoreError();
}

void SqliteWriter::RunBatch(const std::vector<SqliteWriteOp*>& batch) {
  Status begun = Control(kBegin, "cannot start a write transaction");
  if (!begun.ok()) {
    FailBatch(batch, begun);
    return;
  }

  for (SqliteWriteOp* op : batch) {
    Status saved = Control(kSavepoint, "cannot open a savepoint");
    if (!saved.ok()) {
      FailBatch(batch, saved);
      return;
    }
    Status status;
    try {
      status = op->run(op->run_ctx, *db_);
    } catch (const std::exception&) {
      status = InternalError("unexpected failure in a store write");
    } catch (...) {
      status = InternalError("unexpected failure in a store write");
    }
    // On some errors (SQLITE_FULL, IOERR, NOMEM) SQLite abandons the whole
    // transaction on its own; then neither RELEASE nor ROLLBACK TO applies.
    if (db_->AutoCommit()) {
      FailBatch(batch, status.ok() ? UnavailableError("the write transaction was aborted") : status);
      return;
    }
    Status closed = Control(status.ok() ? kRelease : kRollbackTo, "cannot close a savepoint");
    if (closed.ok() && !status.ok()) closed = Control(kRelease, "cannot close a savepoint");
    if (!closed.ok()) {
      FailBatch(batch, closed);
      return;
    }
    op->status_ = std::move(status);
  }

  Status committed = Control(kCommit, "cannot commit a write transaction");
  if (!committed.ok()) {
    FailBatch(batch, committed);
    return;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  ops_.fetch_add(batch.size(), std::memory_order_relaxed);
  if (batch.size() > max_batch_.load(std::memory_order_relaxed)) {
    max_batch_.store(batch.size(), std::memory_order_relaxed);  // only this thread writes it
  }
  const auto& bounds = StoreMetrics::kBatchBucketBounds;
  const std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), static_cast<std::uint64_t>(batch.size())) - bounds.begin());
  batch_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);

  // Hooks in batch order = commit order. A throwing hook must not kill the writer.
  for (SqliteWriteOp* op : batch) {
    if (!op->status_.ok() || op->after_commit == nullptr) continue;
    try {
      op->after_commit(op->after_ctx);
    } catch (...) {
    }
  }
}

}  // namespace libchat::internal
