#include "server/api/handler_util.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "server/json_codec.h"

namespace libchat::server::api {

http::Response RequestContext::NotFound(std::string_view what) const {
  return ErrorResponse(404, "not_found", std::string(what) + " not found", request_id);
}

http::Response JsonTextResponse(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.headers.reserve(5);  // + X-Request-Id and the CORS headers, added by Api::Handle
  response.headers.push_back({"Content-Type", "application/json"});
  response.body = std::move(body);
  return response;
}

http::Response JsonResponse(int status, const Json& body) { return JsonTextResponse(status, DumpJson(body)); }

http::Response NoContent() {
  http::Response response;
  response.status = 204;
  return response;
}

// ---------------------------------------------------------------------------
// Bodies

namespace {

// Deepest nesting of arrays/objects in JSON text, ignoring brackets inside strings. Checked before parsing:
// nlohmann parses iteratively, but dump() (and so the facade's normalization of metadata) recurses, and a
// 1 MiB body of '[' would otherwise overflow the stack.
int NestingDepth(std::string_view text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Result<Json> ParseBody(const http::Request& request, bool array_allowed) {
  const std::string& body = request.body;
  const bool blank = std::all_of(body.begin(), body.end(),
                                 [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
  if (blank) return Json::object();
  if (NestingDepth(body) > kMaxBodyNesting) {
    return InvalidArgumentError("request body is nested more than " + std::to_string(kMaxBodyNesting) +
                                " levels deep");
  }
  // allow_exceptions=false: malformed JSON, invalid UTF-8 in strings and lone surrogate escapes all come
  // back as a discarded value instead of an exception.
  Json parsed = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError("request body is not valid JSON");
  if (!parsed.is_object() && !(array_allowed && parsed.is_array())) {
    return InvalidArgumentError(array_allowed ? "request body must be a JSON object or array"
                                              : "request body must be a JSON object");
  }
  return parsed;
}

}  // namespace

Result<Json> ParseBodyObject(const http::Request& request) { return ParseBody(request, /*array_allowed=*/false); }

Result<Json> ParseBodyObjectOrArray(const http::Request& request) {
  return ParseBody(request, /*array_allowed=*/true);
}

const Json* FieldReader::Find(const char* field) const {
  auto it = object_.find(field);
  return it == object_.end() ? nullptr : &*it;
}

bool FieldReader::IsNull(const char* field) const {
  const Json* value = Find(field);
  return value != nullptr && value->is_null();
}

void FieldReader::Fail(std::string message) {
  if (status_.ok()) status_ = InvalidArgumentError(std::move(message));
}

std::optional<std::string> FieldReader::OptionalString(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_string()) {
    Fail(Name(field) + " must be a string");
    return std::nullopt;
  }
  return value->get_ref<const std::string&>();
}

std::string FieldReader::RequiredString(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) {
    Fail(Name(field) + " is required");
    return {};
  }
  if (!value->is_string()) {
    Fail(Name(field) + " must be a string");
    return {};
  }
  return value->get_ref<const std::string&>();
}

std::optional<bool> FieldReader::OptionalBool(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_boolean()) {
    Fail(Name(field) + " must be a boolean");
    return std::nullopt;
  }
  return value->get<bool>();
}

std::optional<std::int64_t> FieldReader::OptionalNonNegativeInt(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  // nlohmann stores non-negative literals as unsigned and negative ones as integer; floats are refused.
  if (value->is_number_unsigned()) {
    const auto v = value->get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(v);
    }
  } else if (value->is_number_integer()) {
    const auto v = value->get<std::int64_t>();
    if (v >= 0) return v;
  }
  Fail(Name(field) + " must be a non-negative integer");
  return std::nullopt;
}

std::int64_t FieldReader::RequiredNonNegativeInt(const char* field) {
  if (!Has(field) || IsNull(field)) {
    Fail(Name(field) + " is required");
    return 0;
  }
  return OptionalNonNegativeInt(field).value_or(0);
}

std::optional<std::string> FieldReader::OptionalObjectText(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_object()) {
    Fail(Name(field) + " must be an object");
    return std::nullopt;
  }
  return DumpJson(*value);
}

std::optional<std::string> FieldReader::OptionalArrayText(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_array()) {
    Fail(Name(field) + " must be an array");
    return std::nullopt;
  }
  return DumpJson(*value);
}

const Json* FieldReader::OptionalObject(const char* field) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return nullptr;
  if (!value->is_object()) {
    Fail(Name(field) + " must be an object");
    return nullptr;
  }
  return value;
}

namespace {

std::string JoinAllowed(const char* const* allowed) {
  std::string out;
  for (const char* const* a = allowed; *a != nullptr; ++a) {
    if (!out.empty()) out += ", ";
    out += *a;
  }
  return out;
}

bool IsAllowed(std::string_view value, const char* const* allowed) {
  for (const char* const* a = allowed; *a != nullptr; ++a) {
    if (value == *a) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> FieldReader::OptionalEnum(const char* field, const char* const* allowed) {
  const Json* value = Find(field);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_string() || !IsAllowed(value->get_ref<const std::string&>(), allowed)) {
    Fail(Name(field) + " must be one of " + JoinAllowed(allowed));
    return std::nullopt;
  }
  return value->get_ref<const std::string&>();
}

std::string FieldReader::RequiredEnum(const char* field, const char* const* allowed) {
  if (!Has(field) || IsNull(field)) {
    Fail(Name(field) + " is required");
    return {};
  }
  return OptionalEnum(field, allowed).value_or(std::string());
}

// ---------------------------------------------------------------------------
// Query parameters

Result<std::optional<std::int64_t>> QueryNonNegativeInt(const http::Request& request, std::string_view name) {
  std::optional<std::string> raw = request.QueryParam(name);
  if (!raw || raw->empty()) return std::optional<std::int64_t>();  // "?after_seq=&limit=20": not given
  const auto bad = [&] { return InvalidArgumentError(std::string(name) + " must be a non-negative integer"); };
  if (raw->size() > 18) return bad();  // 18 digits cannot overflow int64
  std::int64_t value = 0;
  for (char c : *raw) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + (c - '0');
  }
  return std::optional<std::int64_t>(value);
}

Result<int> QueryLimit(const http::Request& request) {
  auto limit = QueryNonNegativeInt(request, "limit");
  if (!limit.ok()) return limit.status();
  if (!*limit) return 0;
  if (**limit < 1 || **limit > 200) return InvalidArgumentError("limit must be between 1 and 200");
  return static_cast<int>(**limit);
}

// ---------------------------------------------------------------------------
// Shared handlers

http::Response ListMessagesResponse(RequestContext& ctx, const ConversationId& id) {
  auto after = QueryNonNegativeInt(ctx.request, "after_seq");
  if (!after.ok()) return ctx.Fail(after.status());
  auto before = QueryNonNegativeInt(ctx.request, "before_seq");
  if (!before.ok()) return ctx.Fail(before.status());
  auto limit = QueryLimit(ctx.request);
  if (!limit.ok()) return ctx.Fail(limit.status());
  if (*after && *before) return ctx.Fail("give after_seq or before_seq, not both");
  const int want = *limit == 0 ? 50 : *limit;

  HistoryQuery query;
  query.after_seq = *after;
  query.before_seq = *before;
  bool has_more = false;
  std::vector<Message> messages;
  if (query.before_seq) {
    // The page just below before_seq; sequence numbers have no gaps, so older ones exist iff the
    // oldest returned is above 1.
    query.limit = want;
    auto page = ctx.chat.ListMessages(ctx.principal, id, query);
    if (!page.ok()) return ctx.Fail(page.status());
    messages = std::move(page).value();
    has_more = !messages.empty() && messages.front().seq > 1;
  } else {
    // Ask for one more than wanted to learn whether more follow; at the maximum page size, ask again.
    query.limit = std::min(want + 1, 200);
    auto page = ctx.chat.ListMessages(ctx.principal, id, query);
    if (!page.ok()) return ctx.Fail(page.status());
    messages = std::move(page).value();
    if (messages.size() > static_cast<std::size_t>(want)) {
      has_more = true;
      messages.resize(static_cast<std::size_t>(want));
    } else if (want == 200 && messages.size() == 200) {
      HistoryQuery probe;
      probe.after_seq = messages.back().seq;
      probe.limit = 1;
      auto next = ctx.chat.ListMessages(ctx.principal, id, probe);
      if (!next.ok()) return ctx.Fail(next.status());
      has_more = !next->empty();
    }
  }
  Json data = Json::array();
  for (const Message& message : messages) data.push_back(ToJson(message));
  Json body = Json::object();
  body["data"] = std::move(data);
  body["has_more"] = has_more;
  return JsonResponse(200, body);
}

http::Response MarkReadResponse(RequestContext& ctx, const ConversationId& id) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::int64_t seq = fields.RequiredNonNegativeInt("seq");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto receipt = ctx.chat.MarkRead(ctx.principal, id, seq);
  if (!receipt.ok()) return ctx.Fail(receipt.status());
  Json out = Json::object();
  out["receipt"] = ToJson(*receipt);
  return JsonResponse(200, out);
}

http::Response TypingResponse(RequestContext& ctx, const ConversationId& id) {
  static const char* const kStates[] = {"start", "stop", nullptr};
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::string state = fields.RequiredEnum("state", kStates);
  if (!fields.ok()) return ctx.Fail(fields.status());
  Status status = ctx.chat.SetTyping(ctx.principal, id, state == "start");
  if (!status.ok()) return ctx.Fail(status);
  return NoContent();
}

http::Response ListConversationsResponse(RequestContext& ctx, const AppId& app) {
  ConversationFilter filter;
  // An empty value ("?status=&type=") means "not given", as for the numeric parameters.
  if (auto status = ctx.request.QueryParam("status"); status && !status->empty()) {
    filter.status = ParseConversationStatus(*status);
    if (!filter.status) return ctx.Fail("status must be one of open, pending, resolved, snoozed");
  }
  if (auto type = ctx.request.QueryParam("type"); type && !type->empty()) {
    filter.type = ParseConversationType(*type);
    if (!filter.type) return ctx.Fail("type must be one of support, dm, group, channel");
  }
  if (auto assignee = ctx.request.QueryParam("assignee")) {
    // "" and "none" select unassigned conversations, "me" the caller's own.
    if (*assignee == "none") {
      filter.assignee_id = std::string();
    } else if (*assignee == "me") {
      filter.assignee_id = ctx.principal.id;
    } else {
      filter.assignee_id = std::move(*assignee);
    }
  }
  if (auto cursor = ctx.request.QueryParam("cursor")) filter.cursor = std::move(*cursor);
  auto limit = QueryLimit(ctx.request);
  if (!limit.ok()) return ctx.Fail(limit.status());
  filter.limit = *limit;

  auto page = ctx.chat.ListConversations(ctx.principal, app, filter);
  if (!page.ok()) return ctx.Fail(page.status());
  Json data = Json::array();
  for (const Conversation& conversation : page->data) data.push_back(ToJson(conversation));
  Json body = Json::object();
  body["data"] = std::move(data);
  body["next_cursor"] = page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor);
  return JsonResponse(200, body);
}

std::optional<ConversationId> ConversationParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!ConversationId::IsWellFormed(raw)) return std::nullopt;
  return ConversationId(std::string(raw));
}

http::Response ListMessagesRoute(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  return ListMessagesResponse(ctx, *id);
}

http::Response MarkReadRoute(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  return MarkReadResponse(ctx, *id);
}

http::Response TypingRoute(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  return TypingResponse(ctx, *id);
}

}  // namespace libchat::server::api
