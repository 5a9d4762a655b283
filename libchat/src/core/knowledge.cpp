// The knowledge base of an app (entries of type text or qa, searched through
// the store's full-text index) and the app's bot settings. The team writes; the
// team and the app's operators read and search. Search scoring and snippets are
// computed here (bot/text_match.h), so every Store gives the same 0..1 scores.
#include <cmath>

#include <nlohmann/json.hpp>

#include "bot/text_match.h"
#include "core/chat_impl.h"
#include "core/validation.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr std::size_t kMaxQuestionBytes = 1000;
constexpr std::size_t kMaxTextBytes = 20000;  // answer, content
constexpr std::size_t kMaxQueryBytes = 2000;
constexpr std::size_t kMaxBotNameBytes = 60;
constexpr int kDefaultSearchLimit = 10;
constexpr int kMaxSearchLimit = 50;
constexpr char kBotSetting[] = "bot";

Status ValidateKnowledgeInput(const KnowledgeInput& input) {
  switch (input.type) {
    case KnowledgeType::kText:
      if (!input.question.empty() || !input.answer.empty()) {
        return InvalidArgumentError("question and answer belong to qa entries; a text entry has content only");
      }
      return internal::ValidateText("content", input.content, 1, kMaxTextBytes);
    case KnowledgeType::kQa:
      LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("question", input.question, 1, kMaxQuestionBytes));
      LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("answer", input.answer, 1, kMaxTextBytes));
      return internal::ValidateText("content", input.content, 0, kMaxTextBytes);
  }
  return InvalidArgumentError("type must be text or qa");
}

// The entry, if it belongs to `app`; another app's entry is reported as missing.
Result<KnowledgeEntry> EntryOfApp(Store& store, const AppId& app, const KnowledgeId& id) {
  if (!KnowledgeId::IsWellFormed(id.str())) return NotFoundError("knowledge entry not found");
  auto entry = store.GetKnowledgeEntry(id);
  if (!entry.ok()) {
    if (entry.status().code() == StatusCode::kNotFound) return NotFoundError("knowledge entry not found");
    return entry.status();
  }
  if (entry->app_id != app) return NotFoundError("knowledge entry not found");
  return entry;
}

}  // namespace

Result<KnowledgeEntry> Chat::CreateKnowledgeEntry(const Principal& principal, const AppId& app,
                                                  const KnowledgeInput& input) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_RETURN_IF_ERROR(ValidateKnowledgeInput(input));
  KnowledgeEntry entry;
  entry.id = KnowledgeId(internal::NewId(KnowledgeId::prefix()));
  entry.app_id = app;
  entry.type = input.type;
  entry.question = input.question;
  entry.answer = input.answer;
  entry.content = input.content;
  entry.created_at = entry.updated_at = impl.Now();
  LIBCHAT_RETURN_IF_ERROR(impl.store->CreateKnowledgeEntry(entry));
  return entry;
}

Result<Page<KnowledgeEntry>> Chat::ListKnowledge(const Principal& principal, const AppId& app,
                                                 const std::string& cursor, int limit) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(principal, app));
  if (!staff) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(int checked_limit, internal::ValidateLimit(limit));
  return impl.store->ListKnowledgeEntries(app, cursor, checked_limit);
}

Result<KnowledgeEntry> Chat::GetKnowledgeEntry(const Principal& principal, const AppId& app, const KnowledgeId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(principal, app));
  if (!staff) return NotFoundError("app not found");
  return EntryOfApp(*impl.store, app, id);
}

Result<KnowledgeEntry> Chat::UpdateKnowledgeEntry(const Principal& principal, const AppId& app,
                                                  const KnowledgeId& id, const KnowledgeInput& input) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  // Looked up before validating, so that a bad body for a missing entry is a 404 like any other request for it.
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(KnowledgeEntry entry, EntryOfApp(*impl.store, app, id));
  LIBCHAT_RETURN_IF_ERROR(ValidateKnowledgeInput(input));
  entry.type = input.type;
  entry.question = input.question;
  entry.answer = input.answer;
  entry.content = input.content;
  entry.updated_at = impl.Now();
  Status updated = impl.store->UpdateKnowledgeEntry(entry);
  if (updated.code() == StatusCode::kNotFound) return NotFoundError("knowledge entry not found");  // deleted meanwhile
  LIBCHAT_RETURN_IF_ERROR(updated);
  return entry;
}

Status Chat::DeleteKnowledgeEntry(const Principal& principal, const AppId& app, const KnowledgeId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  LIBCHAT_RETURN_IF_ERROR(EntryOfApp(*impl.store, app, id).status());
  Status deleted = impl.store->DeleteKnowledgeEntry(id);
  if (deleted.code() == StatusCode::kNotFound) return NotFoundError("knowledge entry not found");
  return deleted;
}

Result<std::vector<KnowledgeHit>> Chat::SearchKnowledge(const Principal& principal, const AppId& app,
                                                        const std::string& query, int limit) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(principal, app));
  if (!staff) return NotFoundError("app not found");
  if (limit == 0) limit = kDefaultSearchLimit;
  if (limit < 1 || limit > kMaxSearchLimit) return InvalidArgumentError("limit must be between 1 and 50");
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("q", query, 1, kMaxQueryBytes));
  return impl.SearchAppKnowledge(app, query, limit);
}

Result<std::vector<KnowledgeHit>> Chat::Impl::SearchAppKnowledge(const AppId& app, const std::string& query,
                                                                 int limit) {
  KnowledgeQuery search;
  search.app_id = app;
  search.terms = internal::QueryTerms(query);
  if (search.terms.empty()) return InvalidArgumentError("query has no searchable words");
  search.limit = limit;
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<KnowledgeMatch> matches, store->SearchKnowledge(search));
  std::vector<KnowledgeHit> hits;
  hits.reserve(matches.size());
  for (KnowledgeMatch& match : matches) {
    KnowledgeHit hit;
    hit.score = internal::MatchScore(
        search.terms, match.entry.question + "\n" + match.entry.answer + "\n" + match.entry.content);
    hit.entry = std::move(match.entry);
    hit.rank = match.rank;
    hit.snippet = internal::SnippetHtml(match.snippet);
    hits.push_back(std::move(hit));
  }
  return hits;
}

// ---------------------------------------------------------------------------
// Bot settings: app setting "bot" {"enabled","min_score","name"}, read through the cached
// AppDeliveryConfig (delivery_config.cpp parses it).

Result<BotSettings> Chat::GetBotSettings(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, impl.DeliveryConfigOf(app));
  return config->bot;
}

Result<BotSettings> Chat::PutBotSettings(const Principal& principal, const AppId& app, const BotSettings& settings) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  if (!std::isfinite(settings.min_score) || settings.min_score < 0 || settings.min_score > 1) {
    return InvalidArgumentError("min_score must be between 0 and 1");
  }
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", settings.name, 1, kMaxBotNameBytes));
  nlohmann::json stored = nlohmann::json::object();
  stored["enabled"] = settings.enabled;
  stored["min_score"] = settings.min_score;
  stored["name"] = settings.name;
  LIBCHAT_RETURN_IF_ERROR(impl.store->PutAppSetting(app, kBotSetting, stored.dump()));
  impl.ForgetDeliveryConfig(app);
  return settings;
}

}  // namespace libchat
