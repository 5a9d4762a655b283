// The SQL of the SQLite store's operator and knowledge-base tables (schema
// migration 4): operators with their apps, knowledge entries and their FTS5
// index. SqliteStore runs the write functions as writer ops, inside the op's
// savepoint, and the read functions on a pooled read connection; each function
// is one piece of the Store contract of libchat/providers/store.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "libchat/knowledge.h"
#include "libchat/providers/store.h"
#include "libchat/status.h"
#include "libchat/types.h"
#include "storage/sqlite_db.h"

namespace libchat::internal::sqlite_team {

// --- writes (writer connection, inside a transaction)

// kAlreadyExists for a taken id, kNotFound when an app does not exist; the caller's
// savepoint undoes the operators already inserted.
Status CreateOperators(SqliteConnection& db, const std::vector<Operator>& operators);
Status UpdateOperator(SqliteConnection& db, const Operator& op);

Status CreateKnowledgeEntry(SqliteConnection& db, const KnowledgeEntry& entry);
Status UpdateKnowledgeEntry(SqliteConnection& db, const KnowledgeEntry& entry);
Status DeleteKnowledgeEntry(SqliteConnection& db, const KnowledgeId& id);

// --- reads (any connection)

Result<Operator> GetOperator(SqliteConnection& db, const OperatorId& id);
Result<Page<Operator>> ListOperators(SqliteConnection& db, const OperatorQuery& query);
Result<std::vector<Operator>> ListActiveAppOperators(SqliteConnection& db, const AppId& app);

Result<KnowledgeEntry> GetKnowledgeEntry(SqliteConnection& db, const KnowledgeId& id);
Result<Page<KnowledgeEntry>> ListKnowledgeEntries(SqliteConnection& db, const AppId& app, std::string_view cursor,
                                                  int limit);
Result<std::vector<KnowledgeMatch>> SearchKnowledge(SqliteConnection& db, const KnowledgeQuery& query);

// The FTS5 query of a search: the app's entries (its id as a phrase in the indexed app_id
// column) that contain any of the terms (each a quoted phrase, '"' doubled) in question,
// answer or content. Empty when no term is left. Exposed for tests.
std::string KnowledgeMatchExpression(const AppId& app, const std::vector<std::string>& terms);

}  // namespace libchat::internal::sqlite_team
