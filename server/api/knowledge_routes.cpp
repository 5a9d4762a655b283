// An app's knowledge base and the bot that answers from it (API.md "Knowledge base and bot"):
//   GET|POST          /v1/apps/{app_id}/knowledge?cursor=&limit=   POST {type, question?, answer?, content?} -> 201
//   GET               /v1/apps/{app_id}/knowledge/search?q=&limit= -> {data:[{entry, rank, score, snippet}]}
//   GET|PUT|DELETE    /v1/apps/{app_id}/knowledge/{id}             PUT replaces the entry; DELETE -> 204
//   GET|PUT           /v1/apps/{app_id}/bot                        {enabled, min_score, name}
// The router prefers the literal "search" segment over the {id} parameter, so the search is never read as an
// entry id. Bodies are read strictly here; the core checks the texts (required members per type, lengths) and
// who may do what: the app's team writes, its operators read and search, anyone else gets 404.
#include <optional>
#include <string>
#include <utility>

#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

constexpr std::int64_t kDefaultSearchLimit = 10;
constexpr std::int64_t kMaxSearchLimit = 50;

const char* const kKnowledgeTypes[] = {"text", "qa", nullptr};

std::optional<AppId> AppParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!AppId::IsWellFormed(raw)) return std::nullopt;
  return AppId(std::string(raw));
}

std::optional<KnowledgeId> EntryParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[1];
  if (!KnowledgeId::IsWellFormed(raw)) return std::nullopt;
  return KnowledgeId(std::string(raw));
}

// {type?, question?, answer?, content?}: type defaults to "text"; a text member left out is "".
Result<KnowledgeInput> ReadKnowledgeInput(const http::Request& request) {
  auto body = ParseBodyObject(request);
  if (!body.ok()) return body.status();
  FieldReader fields(*body);
  KnowledgeInput input;
  if (auto type = fields.OptionalEnum("type", kKnowledgeTypes)) {
    input.type = ParseKnowledgeType(*type).value_or(KnowledgeType::kText);
  }
  input.question = fields.OptionalString("question").value_or(std::string());
  input.answer = fields.OptionalString("answer").value_or(std::string());
  input.content = fields.OptionalString("content").value_or(std::string());
  if (!fields.ok()) return fields.status();
  return input;
}

// ---------------------------------------------------------------------------
// Entries

http::Response ListKnowledge(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto limit = QueryLimit(ctx.request);
  if (!limit.ok()) return ctx.Fail(limit.status());
  const std::string cursor = ctx.request.QueryParam("cursor").value_or(std::string());
  auto page = ctx.chat.ListKnowledge(ctx.principal, *app, cursor, *limit == 0 ? 50 : *limit);
  if (!page.ok()) return ctx.Fail(page.status());
  Json data = Json::array();
  for (const KnowledgeEntry& entry : page->data) data.push_back(ToJson(entry));
  Json out = Json::object();
  out["data"] = std::move(data);
  out["next_cursor"] = page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor);
  return JsonResponse(200, out);
}

http::Response CreateKnowledgeEntry(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto input = ReadKnowledgeInput(ctx.request);
  if (!input.ok()) return ctx.Fail(input.status());
  auto entry = ctx.chat.CreateKnowledgeEntry(ctx.principal, *app, *input);
  if (!entry.ok()) return ctx.Fail(entry.status());
  return JsonResponse(201, ToJson(*entry));
}

http::Response GetKnowledgeEntry(RequestContext& ctx) {
  auto app = AppParam(ctx);
  auto id = EntryParam(ctx);
  if (!app || !id) return ctx.NotFound("knowledge entry");
  auto entry = ctx.chat.GetKnowledgeEntry(ctx.principal, *app, *id);
  if (!entry.ok()) return ctx.Fail(entry.status());
  return JsonResponse(200, ToJson(*entry));
}

http::Response UpdateKnowledgeEntry(RequestContext& ctx) {
  auto app = AppParam(ctx);
  auto id = EntryParam(ctx);
  if (!app || !id) return ctx.NotFound("knowledge entry");
  auto input = ReadKnowledgeInput(ctx.request);
  if (!input.ok()) return ctx.Fail(input.status());
  auto entry = ctx.chat.UpdateKnowledgeEntry(ctx.principal, *app, *id, *input);
  if (!entry.ok()) return ctx.Fail(entry.status());
  return JsonResponse(200, ToJson(*entry));
}

http::Response DeleteKnowledgeEntry(RequestContext& ctx) {
  auto app = AppParam(ctx);
  auto id = EntryParam(ctx);
  if (!app || !id) return ctx.NotFound("knowledge entry");
  Status status = ctx.chat.DeleteKnowledgeEntry(ctx.principal, *app, *id);
  if (!status.ok()) return ctx.Fail(status);
  return NoContent();
}

http::Response SearchKnowledge(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  const std::string query = ctx.request.QueryParam("q").value_or(std::string());
  if (query.empty()) return ctx.Fail("q is required: the words to search for");
  auto limit = QueryNonNegativeInt(ctx.request, "limit");
  if (!limit.ok()) return ctx.Fail(limit.status());
  const std::int64_t want = limit->value_or(kDefaultSearchLimit);
  if (want < 1 || want > kMaxSearchLimit) {
    return ctx.Fail("limit must be between 1 and " + std::to_string(kMaxSearchLimit));
  }
  auto hits = ctx.chat.SearchKnowledge(ctx.principal, *app, query, static_cast<int>(want));
  if (!hits.ok()) return ctx.Fail(hits.status());
  Json data = Json::array();
  for (const KnowledgeHit& hit : *hits) data.push_back(ToJson(hit));
  Json out = Json::object();
  out["data"] = std::move(data);
  return JsonResponse(200, out);
}

// ---------------------------------------------------------------------------
// Bot

http::Response GetBot(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto bot = ctx.chat.GetBotSettings(ctx.principal, *app);
  if (!bot.ok()) return ctx.Fail(bot.status());
  return JsonResponse(200, ToJson(*bot));
}

// PUT replaces the settings; a member left out takes its default (BotSettings).
http::Response PutBot(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  BotSettings settings;
  if (auto enabled = fields.OptionalBool("enabled")) settings.enabled = *enabled;
  if (auto it = body->find("min_score"); fields.ok() && it != body->end() && !it->is_null()) {
    const double score = it->is_number() ? it->get<double>() : -1;
    if (!it->is_number() || !(score >= 0 && score <= 1)) {
      fields.Fail("min_score must be a number from 0 to 1");
    } else {
      settings.min_score = score;
    }
  }
  if (auto name = fields.OptionalString("name")) settings.name = std::move(*name);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto stored = ctx.chat.PutBotSettings(ctx.principal, *app, settings);
  if (!stored.ok()) return ctx.Fail(stored.status());
  return JsonResponse(200, ToJson(*stored));
}

}  // namespace

void AddKnowledgeRoutes(Routes& routes) {
  Router<Route>& r = routes.router;
  r.Add("GET", "/v1/apps/{app_id}/knowledge", Route{&ListKnowledge, Auth::kRequired});
  r.Add("POST", "/v1/apps/{app_id}/knowledge", Route{&CreateKnowledgeEntry, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/knowledge/search", Route{&SearchKnowledge, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/knowledge/{id}", Route{&GetKnowledgeEntry, Auth::kRequired});
  r.Add("PUT", "/v1/apps/{app_id}/knowledge/{id}", Route{&UpdateKnowledgeEntry, Auth::kRequired});
  r.Add("DELETE", "/v1/apps/{app_id}/knowledge/{id}", Route{&DeleteKnowledgeEntry, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/bot", Route{&GetBot, Auth::kRequired});
  r.Add("PUT", "/v1/apps/{app_id}/bot", Route{&PutBot, Auth::kRequired});
}

}  // namespace libchat::server::api
