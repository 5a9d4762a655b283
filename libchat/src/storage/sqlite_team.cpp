#include "storage/sqlite_team.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/sqlite_support.h"
#include "util/status_macros.h"

namespace libchat::internal::sqlite_team {
namespace {

// ---------------------------------------------------------------------------
// Column lists (spliced into the static statement texts below) and row readers.

#define LIBCHAT_SQL_OPERATOR_COLS "o.id, o.account_id, o.name, o.email, o.status, o.created_at, o.updated_at"
#define LIBCHAT_SQL_KNOWLEDGE_COLS \
  "e.id, e.app_id, e.type, e.question, e.answer, e.content, e.created_at, e.updated_at"
constexpr int kKnowledgeCols = 8;

// Words of a snippet (FTS5 allows 1..64).
#define LIBCHAT_SQL_SNIPPET(column) "snippet(knowledge_fts, " #column ", char(2), char(3), char(8230), 24)"

Result<Operator> ReadOperator(const SqliteStmt& s) {
  Operator op;
  op.id = OperatorId(s.Text(0));
  op.account_id = AccountId(s.Text(1));
  op.name = s.Text(2);
  op.email = s.Text(3);
  auto status = ParseOperatorStatus(s.TextView(4));
  if (!status) return CorruptRow("operator status");
  op.status = *status;
  op.created_at = s.Time(5);
  op.updated_at = s.Time(6);
  return op;
}

Result<KnowledgeEntry> ReadKnowledgeEntry(const SqliteStmt& s) {
  KnowledgeEntry e;
  e.id = KnowledgeId(s.Text(0));
  e.app_id = AppId(s.Text(1));
  auto type = ParseKnowledgeType(s.TextView(2));
  if (!type) return CorruptRow("knowledge entry type");
  e.type = *type;
  e.question = s.Text(3);
  e.answer = s.Text(4);
  e.content = s.Text(5);
  e.created_at = s.Time(6);
  e.updated_at = s.Time(7);
  return e;
}

// ---------------------------------------------------------------------------
// Statements.

constexpr const char kInsertOperator[] =
    "INSERT INTO operators (id, account_id, name, email, status, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char kUpdateOperator[] =
    "UPDATE operators SET name = ?2, email = ?3, status = ?4, updated_at = ?5 WHERE id = ?1";
constexpr const char kGetOperator[] = "SELECT " LIBCHAT_SQL_OPERATOR_COLS " FROM operators o WHERE o.id = ?1";
// A repeated app id is one assignment.
constexpr const char kInsertOperatorApp[] =
    "INSERT INTO operator_apps (app_id, operator_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
constexpr const char kDeleteOperatorApps[] = "DELETE FROM operator_apps WHERE operator_id = ?1";
constexpr const char kAppsOfOperator[] =
    "SELECT operator_id, app_id FROM operator_apps WHERE operator_id = ?1 ORDER BY app_id";
// ?1: a JSON array of operator ids (one query for a whole page).
constexpr const char kAppsOfOperators[] =
    "SELECT operator_id, app_id FROM operator_apps"
    " WHERE operator_id IN (SELECT value FROM json_each(?1)) ORDER BY operator_id, app_id";
constexpr const char kActiveAppOperators[] =
    "SELECT " LIBCHAT_SQL_OPERATOR_COLS " FROM operator_apps a JOIN operators o ON o.id = a.operator_id"
    " WHERE a.app_id = ?1 AND o.status = 'active' ORDER BY o.created_at, o.id";

constexpr const char kInsertKnowledge[] =
    "INSERT INTO knowledge_entries (id, app_id, type, question, answer, content, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char kGetKnowledge[] =
    "SELECT " LIBCHAT_SQL_KNOWLEDGE_COLS " FROM knowledge_entries e WHERE e.id = ?1";
constexpr const char kUpdateKnowledge[] =
    "UPDATE knowledge_entries SET type = ?2, question = ?3, answer = ?4, content = ?5, updated_at = ?6"
    " WHERE id = ?1";
constexpr const char kDeleteKnowledge[] = "DELETE FROM knowledge_entries WHERE id = ?1";
// Newest first. ?4 = limit + 1.
constexpr const char kListKnowledge[] =
    "SELECT " LIBCHAT_SQL_KNOWLEDGE_COLS " FROM knowledge_entries e WHERE e.app_id = ?1"
    " ORDER BY e.created_at DESC, e.id DESC LIMIT ?4";
constexpr const char kListKnowledgeAfter[] =
    "SELECT " LIBCHAT_SQL_KNOWLEDGE_COLS " FROM knowledge_entries e WHERE e.app_id = ?1"
    " AND e.created_at <= ?2 AND (e.created_at < ?2 OR e.id < ?3) ORDER BY e.created_at DESC, e.id DESC LIMIT ?4";
// ?1: KnowledgeMatchExpression, ?2: the app, ?3: the limit. The index returns the rows in
// rank order (bm25 with question 3, answer 1, content 1, app_id 0; more negative is better)
// and computes snippets only for the rows returned. The app_id phrase already selects the
// app's rows; the e.app_id term makes that exact (the index folds case). CROSS JOIN keeps the
// index as the outer loop, which the rank order and MATCH need.
constexpr const char kSearchKnowledge[] =
    "SELECT " LIBCHAT_SQL_KNOWLEDGE_COLS ", -knowledge_fts.rank, " LIBCHAT_SQL_SNIPPET(0) ", "
    LIBCHAT_SQL_SNIPPET(1) ", " LIBCHAT_SQL_SNIPPET(2)
    " FROM knowledge_fts CROSS JOIN knowledge_entries e ON e.pk = knowledge_fts.rowid"
    " WHERE knowledge_fts MATCH ?1 AND knowledge_fts.rank MATCH 'bm25(3.0, 1.0, 1.0, 0.0)' AND e.app_id = ?2"
    " ORDER BY knowledge_fts.rank LIMIT ?3";

// ListOperators: one statement text per filter combination, built once.
enum OperatorFilter : unsigned {
  kFilterApp = 1u << 0,
  kFilterStatus = 1u << 1,
  kFilterCursor = 1u << 2,
  kFilterCombinations = 1u << 3,
};

// Parameters: ?1 account, ?2 app, ?3 status, ?4/?5 cursor (created_at, id), ?6 limit + 1.
// Without an app: a walk of operators_by_account in order. With one: its operator_apps range
// (CROSS JOIN fixes that loop order: an app's operators are a subset of the account's), sorted.
std::string BuildListOperatorsSql(unsigned filters) {
  std::string sql = (filters & kFilterApp) ? "SELECT " LIBCHAT_SQL_OPERATOR_COLS
                                             " FROM operator_apps a CROSS JOIN operators o ON o.id = a.operator_id"
                                             " WHERE a.app_id = ?2 AND o.account_id = ?1"
                                           : "SELECT " LIBCHAT_SQL_OPERATOR_COLS " FROM operators o"
                                             " WHERE o.account_id = ?1";
  sql += (filters & kFilterStatus) ? " AND o.status = ?3" : " AND o.status <> 'deleted'";
  if (filters & kFilterCursor) sql += " AND o.created_at >= ?4 AND (o.created_at > ?4 OR o.id > ?5)";
  sql += " ORDER BY o.created_at, o.id LIMIT ?6";
  return sql;
}

// The texts never change once built, so their addresses are stable statement-cache keys.
const std::array<std::string, kFilterCombinations>& ListOperatorsSql() {
  static const std::array<std::string, kFilterCombinations> texts = [] {
    std::array<std::string, kFilterCombinations> built;
    for (unsigned f = 0; f < kFilterCombinations; ++f) built[f] = BuildListOperatorsSql(f);
    return built;
  }();
  return texts;
}

// ---------------------------------------------------------------------------
// Shared steps.

Status InsertOperatorApps(SqliteConnection& db, const Operator& op) {
  for (const AppId& app : op.app_ids) {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertOperatorApp));
    s.Bind(1, app.str());
    s.Bind(2, op.id.str());
    LIBCHAT_RETURN_IF_ERROR(Explain(s.Run("cannot assign the operator to an app"), nullptr, "app not found"));
  }
  return Status::Ok();
}

// Fills the app_ids of `operators` (sorted) with one query.
Status FillAppIds(SqliteConnection& db, std::vector<Operator>& operators) {
  if (operators.empty()) return Status::Ok();
  std::unordered_map<std::string, Operator*> by_id;
  nlohmann::json ids = nlohmann::json::array();
  for (Operator& op : operators) {
    op.app_ids.clear();
    by_id.emplace(op.id.str(), &op);
    ids.push_back(op.id.str());
  }
  const std::string ids_json = ids.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const bool one = operators.size() == 1;
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(one ? kAppsOfOperator : kAppsOfOperators));
  if (one) {
    s.Bind(1, operators.front().id.str());
  } else {
    s.Bind(1, ids_json);
  }
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, "cannot read the operators' apps");
    auto owner = by_id.find(std::string(s.TextView(0)));
    if (owner != by_id.end()) owner->second->app_ids.emplace_back(s.Text(1));
  }
  // SQLite orders by its BINARY collation, which is byte order like AppId's operator<.
  return Status::Ok();
}

Result<std::vector<Operator>> ReadOperators(SqliteStmt& s, std::string_view context, std::size_t max_rows) {
  std::vector<Operator> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, context);
    if (out.size() == max_rows) break;
    LIBCHAT_ASSIGN_OR_RETURN(Operator op, ReadOperator(s));
    out.push_back(std::move(op));
  }
  return out;
}

// The snippet of the column with the most matches (question, answer, content on ties); with
// none, of the first non-empty column. Columns are read from `first` on.
std::string BestSnippet(const SqliteStmt& s, int first) {
  int best = 0;
  while (best < 2 && s.TextView(first + best).empty()) ++best;
  std::ptrdiff_t best_hits = 0;
  for (int col = 0; col < 3; ++col) {
    const std::string_view text = s.TextView(first + col);
    const std::ptrdiff_t hits = std::count(text.begin(), text.end(), '\x02');
    if (hits > best_hits) {
      best = col;
      best_hits = hits;
    }
  }
  return s.Text(first + best);
}

}  // namespace

std::string KnowledgeMatchExpression(const AppId& app, const std::vector<std::string>& terms) {
  auto quoted = [](std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    return out;
  };
  std::string any;
  for (const std::string& term : terms) {
    if (term.empty()) continue;
    if (!any.empty()) any += " OR ";
    any += quoted(term);
  }
  if (any.empty()) return "";
  return "app_id : " + quoted(app.str()) + " AND {question answer content} : (" + any + ")";
}

// ---------------------------------------------------------------------------
// Writes.

Status CreateOperators(SqliteConnection& db, const std::vector<Operator>& operators) {
  for (const Operator& op : operators) {
    {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertOperator));
      s.Bind(1, op.id.str());
      s.Bind(2, op.account_id.str());
      s.Bind(3, op.name);
      s.Bind(4, op.email);
      s.Bind(5, std::string_view(OperatorStatusName(op.status)));
      s.Bind(6, op.created_at);
      s.Bind(7, op.updated_at);
      LIBCHAT_RETURN_IF_ERROR(
          Explain(s.Run("cannot create the operator"), "an operator with this id already exists", nullptr));
    }
    LIBCHAT_RETURN_IF_ERROR(InsertOperatorApps(db, op));
  }
  return Status::Ok();
}

Status UpdateOperator(SqliteConnection& db, const Operator& op) {
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateOperator));
    s.Bind(1, op.id.str());
    s.Bind(2, op.name);
    s.Bind(3, op.email);
    s.Bind(4, std::string_view(OperatorStatusName(op.status)));
    s.Bind(5, op.updated_at);
    LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the operator"));
    if (db.Changes() == 0) return NotFoundError("operator not found");
  }
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kDeleteOperatorApps));
    s.Bind(1, op.id.str());
    LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the operator's apps"));
  }
  return InsertOperatorApps(db, op);
}

Status CreateKnowledgeEntry(SqliteConnection& db, const KnowledgeEntry& entry) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertKnowledge));
  s.Bind(1, entry.id.str());
  s.Bind(2, entry.app_id.str());
  s.Bind(3, std::string_view(KnowledgeTypeName(entry.type)));
  s.Bind(4, entry.question);
  s.Bind(5, entry.answer);
  s.Bind(6, entry.content);
  s.Bind(7, entry.created_at);
  s.Bind(8, entry.updated_at);
  return Explain(s.Run("cannot store the knowledge entry"), "a knowledge entry with this id already exists",
                 "app not found");
}

Status UpdateKnowledgeEntry(SqliteConnection& db, const KnowledgeEntry& entry) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateKnowledge));
  s.Bind(1, entry.id.str());
  s.Bind(2, std::string_view(KnowledgeTypeName(entry.type)));
  s.Bind(3, entry.question);
  s.Bind(4, entry.answer);
  s.Bind(5, entry.content);
  s.Bind(6, entry.updated_at);
  LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the knowledge entry"));  // the trigger re-indexes it
  if (db.Changes() == 0) return NotFoundError("knowledge entry not found");
  return Status::Ok();
}

Status DeleteKnowledgeEntry(SqliteConnection& db, const KnowledgeId& id) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kDeleteKnowledge));
  s.Bind(1, id.str());
  LIBCHAT_RETURN_IF_ERROR(s.Run("cannot delete the knowledge entry"));
  if (db.Changes() == 0) return NotFoundError("knowledge entry not found");
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Reads.

Result<Operator> GetOperator(SqliteConnection& db, const OperatorId& id) {
  std::vector<Operator> one;
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetOperator));
    s.Bind(1, id.str());
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the operator"));
    if (!found) return NotFoundError("operator not found");
    LIBCHAT_ASSIGN_OR_RETURN(Operator op, ReadOperator(s));
    one.push_back(std::move(op));
  }
  LIBCHAT_RETURN_IF_ERROR(FillAppIds(db, one));
  return std::move(one.front());
}

Result<Page<Operator>> ListOperators(SqliteConnection& db, const OperatorQuery& query) {
  const int limit = std::max(1, query.limit);
  std::optional<Cursor> after;
  if (!query.cursor.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(after, DecodeCursor(query.cursor));
  }
  unsigned filters = 0;
  if (query.app_id) filters |= kFilterApp;
  if (query.status) filters |= kFilterStatus;
  if (after) filters |= kFilterCursor;

  Page<Operator> page;
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(ListOperatorsSql()[filters].c_str()));
    s.Bind(1, query.account_id.str());
    if (query.app_id) s.Bind(2, query.app_id->str());
    if (query.status) s.Bind(3, std::string_view(OperatorStatusName(*query.status)));
    if (after) {
      s.Bind(4, after->number);
      s.Bind(5, after->text);
    }
    s.Bind(6, limit + 1);
    LIBCHAT_ASSIGN_OR_RETURN(page.data,
                             ReadOperators(s, "cannot list operators", static_cast<std::size_t>(limit) + 1));
  }
  if (static_cast<int>(page.data.size()) > limit) {
    page.data.pop_back();
    const Operator& last = page.data.back();
    page.next_cursor = EncodeCursor(ToMillis(last.created_at), last.id.str());
  }
  LIBCHAT_RETURN_IF_ERROR(FillAppIds(db, page.data));
  return page;
}

Result<std::vector<Operator>> ListActiveAppOperators(SqliteConnection& db, const AppId& app) {
  std::vector<Operator> out;
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kActiveAppOperators));
    s.Bind(1, app.str());
    LIBCHAT_ASSIGN_OR_RETURN(out, ReadOperators(s, "cannot list the app's operators", SIZE_MAX));
  }
  LIBCHAT_RETURN_IF_ERROR(FillAppIds(db, out));
  return out;
}

Result<KnowledgeEntry> GetKnowledgeEntry(SqliteConnection& db, const KnowledgeId& id) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetKnowledge));
  s.Bind(1, id.str());
  LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the knowledge entry"));
  if (!found) return NotFoundError("knowledge entry not found");
  return ReadKnowledgeEntry(s);
}

Result<Page<KnowledgeEntry>> ListKnowledgeEntries(SqliteConnection& db, const AppId& app, std::string_view cursor,
                                                  int limit) {
  limit = std::max(1, limit);
  std::optional<Cursor> after;
  if (!cursor.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(after, DecodeCursor(cursor));
  }
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(after ? kListKnowledgeAfter : kListKnowledge));
  s.Bind(1, app.str());
  if (after) {
    s.Bind(2, after->number);
    s.Bind(3, after->text);
  }
  s.Bind(4, limit + 1);
  Page<KnowledgeEntry> page;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list knowledge entries");
    if (static_cast<int>(page.data.size()) == limit) {
      const KnowledgeEntry& last = page.data.back();
      page.next_cursor = EncodeCursor(ToMillis(last.created_at), last.id.str());
      break;
    }
    LIBCHAT_ASSIGN_OR_RETURN(KnowledgeEntry e, ReadKnowledgeEntry(s));
    page.data.push_back(std::move(e));
  }
  return page;
}

Result<std::vector<KnowledgeMatch>> SearchKnowledge(SqliteConnection& db, const KnowledgeQuery& query) {
  std::vector<KnowledgeMatch> out;
  const std::string match = KnowledgeMatchExpression(query.app_id, query.terms);
  if (match.empty()) return out;
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSearchKnowledge));
  s.Bind(1, match);
  s.Bind(2, query.app_id.str());
  s.Bind(3, std::max(1, query.limit));
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, "cannot search the knowledge base");
    KnowledgeMatch m;
    LIBCHAT_ASSIGN_OR_RETURN(m.entry, ReadKnowledgeEntry(s));
    m.rank = s.Double(kKnowledgeCols);
    m.snippet = BestSnippet(s, kKnowledgeCols + 1);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace libchat::internal::sqlite_team

#undef LIBCHAT_SQL_OPERATOR_COLS
#undef LIBCHAT_SQL_KNOWLEDGE_COLS
#undef LIBCHAT_SQL_SNIPPET
