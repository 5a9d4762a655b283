// Keeps docs/openapi.json true to the server:
//  - it parses, is OpenAPI 3.1, and is what the server compiles in and serves;
//  - its (method, path) pairs are exactly the routes that exist (the API's route table plus the WebSocket
//    upgrade), checked both against the Add*Routes registrations and against a running Api. Routes a host adds
//    when it embeds the server (Server::AddRoute) are the host's: neither registered here nor documented;
//  - every $ref and security scheme name resolves; every operation has a unique operationId and declares its
//    path parameters;
//  - every operation documents its request body (JSON: schema and example), its success responses (schema and
//    example for JSON; a string schema for the text routes: metrics, dashboard, scripts) and its errors (the
//    Error envelope), and every parameter has a schema and an example;
//  - every example validates against its schema (ids shaped like the API's), and real exchanges with the API
//    match the document: request bodies and query parameters it accepted, and responses for their status.
// Schemas are checked by a small JSON Schema 2020-12 subset validator (below) rather than a new dependency. It
// refuses keywords it does not implement, so the document cannot silently rely on one.
#include <algorithm>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_test_util.h"
#include "catch.h"
#include "delivery_test_doubles.h"
#include "libchat/version.h"
#include "server/api/handler_util.h"
#include "server/api/router.h"
#include "server/metrics.h"
#include "server/openapi_document.h"
#include "server/server_context.h"

namespace libchat::test {
namespace {

// ---------------------------------------------------------------------------
// Loading

// The source tree's docs/openapi.json, located from this file's path (tests/unit/openapi_test.cpp).
std::string DocumentPath() {
  std::string here = __FILE__;
  std::replace(here.begin(), here.end(), '\\', '/');
  constexpr std::string_view kSelf = "tests/unit/openapi_test.cpp";
  if (here.size() >= kSelf.size() && here.compare(here.size() - kSelf.size(), kSelf.size(), kSelf) == 0) {
    return here.substr(0, here.size() - kSelf.size()) + "docs/openapi.json";
  }
  return "docs/openapi.json";  // a relative __FILE__: hope the working directory is the source root
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Json LoadDocument() {
  const std::string path = DocumentPath();
  const std::string text = ReadFile(path);
  INFO("reading " << path);
  REQUIRE_FALSE(text.empty());
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  REQUIRE_FALSE(doc.is_discarded());
  REQUIRE(doc.is_object());
  return doc;
}

// ---------------------------------------------------------------------------
// Routes

using RouteKey = std::pair<std::string, std::string>;  // {"GET", "/v1/apps/{}"}

const char* const kHttpMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::string Upper(std::string s) {
  for (char& c : s) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  while (true) {
    const std::size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// "/v1/apps/{app_id}" -> "/v1/apps/{}": parameter names may differ between the router and the document.
std::string NormalizePath(std::string_view pattern) {
  std::string out;
  for (const std::string& segment : Segments(pattern)) {
    out += "/" + (IsParam(segment) ? std::string("{}") : segment);
  }
  return out.empty() ? "/" : out;
}

// A concrete path for a pattern: every parameter becomes "x1", "x2", ...
std::string ConcretePath(std::string_view pattern) {
  std::string out;
  int n = 0;
  for (const std::string& segment : Segments(pattern)) {
    out += "/" + (IsParam(segment) ? "x" + std::to_string(++n) : segment);
  }
  return out.empty() ? "/" : out;
}

std::set<RouteKey> DocumentedRoutes(const Json& doc) {
  std::set<RouteKey> routes;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const char* method : kHttpMethods) {
      if (item.contains(method)) routes.emplace(Upper(method), NormalizePath(path));
    }
  }
  return routes;
}

// Everything the route groups register (server/api/*_routes.cpp), from the router's own table. A new group
// must be added here too (the running-Api probe in the route test fails until it is).
std::set<RouteKey> RegisteredRoutes() {
  server::api::Routes routes;
  server::api::AddAccountRoutes(routes);
  server::api::AddAppRoutes(routes);
  server::api::AddSdkRoutes(routes);
  server::api::AddConversationRoutes(routes);
  server::api::AddMemberRoutes(routes);
  server::api::AddDeliveryRoutes(routes);
  server::api::AddOperatorRoutes(routes);
  server::api::AddKnowledgeRoutes(routes);
  server::api::AddWidgetRoutes(routes);
  server::api::AddStaticRoutes(routes);
  std::set<RouteKey> out;
  for (const auto& [method, pattern] : routes.router.RouteTable()) out.emplace(method, NormalizePath(pattern));
  return out;
}

// Routes the Api constructor registers itself rather than through an Add*Routes group; the running-Api check
// below makes sure this list is complete for every path the contract names.
const std::set<RouteKey> kApiOwnRoutes = {
    {"GET", "/health"}, {"GET", "/metrics"}, {"GET", "/openapi.json"}, {"POST", "/v1/ws/ticket"}};
// Handled by the network layer before the Api sees the request (server/http_connection.cpp).
const std::set<RouteKey> kTransportRoutes = {{"GET", "/v1/ws"}};

// Every path API.md names, implemented or not yet: probed on a running Api, each must offer exactly the
// methods documented for it (none while it is not documented). This catches a route group that is registered
// by the Api but missing from RegisteredRoutes above.
const char* const kContractPaths[] = {
    "/", "/health", "/metrics", "/openapi.json", "/widget.js",
    "/v1/auth/register", "/v1/auth/login", "/v1/auth/logout", "/v1/auth/me",
    "/v1/operators", "/v1/operators/{id}", "/v1/operators/{id}/tokens", "/v1/tokens/validate",
    "/v1/apps", "/v1/apps/{app_id}", "/v1/apps/{app_id}/keys/rotate", "/v1/apps/{app_id}/widget",
    "/v1/apps/{app_id}/widget/embed", "/v1/public/widget/{publishable_key}",
    "/v1/sdk/config", "/v1/sdk/sessions", "/v1/sdk/messages", "/v1/sdk/conversations",
    "/v1/sdk/conversations/{id}", "/v1/sdk/conversations/{id}/messages", "/v1/sdk/conversations/{id}/read",
    "/v1/sdk/conversations/{id}/typing",
    "/v1/apps/{app_id}/conversations", "/v1/conversations/{id}", "/v1/conversations/{id}/members",
    "/v1/conversations/{id}/members/{member_id}", "/v1/conversations/{id}/messages",
    "/v1/conversations/{id}/messages/{message_id}", "/v1/conversations/{id}/read",
    "/v1/conversations/{id}/typing",
    "/v1/apps/{app_id}/webhooks", "/v1/apps/{app_id}/webhooks/{id}",
    "/v1/apps/{app_id}/webhooks/{id}/deliveries", "/v1/apps/{app_id}/deliveries/{id}/retry",
    "/v1/apps/{app_id}/email-provider", "/v1/apps/{app_id}/delivery-policy", "/v1/apps/{app_id}/notifications",
    "/v1/apps/{app_id}/notifications/{id}", "/v1/apps/{app_id}/notifications/{id}/retry",
    "/v1/apps/{app_id}/knowledge", "/v1/apps/{app_id}/knowledge/{id}", "/v1/apps/{app_id}/knowledge/search",
    "/v1/ws", "/v1/ws/ticket",
};

std::string Describe(const std::set<RouteKey>& routes) {
  std::string out;
  for (const auto& [method, path] : routes) out += "\n  " + method + " " + path;
  return out.empty() ? " (none)" : out;
}

// "GET, PATCH, OPTIONS" -> {"GET", "PATCH"}
std::set<std::string> AllowedMethods(const std::string& allow) {
  std::set<std::string> out;
  std::stringstream in(allow);
  std::string method;
  while (std::getline(in, method, ',')) {
    method.erase(0, method.find_first_not_of(' '));
    method.erase(method.find_last_not_of(' ') + 1);
    if (!method.empty() && method != "OPTIONS") out.insert(method);
  }
  return out;
}

// ---------------------------------------------------------------------------
// References

// A local reference "#/a/b" -> the node, or nullptr.
const Json* Resolve(const Json& doc, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return nullptr;
  try {
    const Json::json_pointer pointer(ref.substr(1));
    if (!doc.contains(pointer)) return nullptr;
    return &doc.at(pointer);
  } catch (const Json::exception&) {
    return nullptr;
  }
}

// Follows a chain of {"$ref": …} objects (components/responses, parameters, …) to the node itself.
const Json* Deref(const Json& doc, const Json* node) {
  for (int hops = 0; node != nullptr && node->is_object() && node->contains("$ref") && hops < 16; ++hops) {
    const Json& ref = node->at("$ref");
    node = ref.is_string() ? Resolve(doc, ref.get<std::string>()) : nullptr;
  }
  return node;
}

void CollectRefs(const Json& node, const std::string& where,
                 std::vector<std::pair<std::string, std::string>>* out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref") out->emplace_back(where, value.is_string() ? value.get<std::string>() : value.dump());
      CollectRefs(value, where + "/" + key, out);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) CollectRefs(node[i], where + "/" + std::to_string(i), out);
  }
}

// ---------------------------------------------------------------------------
// A JSON Schema 2020-12 subset: $ref (local, with sibling keywords), type (a name or an array of names: how 3.1
// says nullable), enum, const, properties, required, additionalProperties, items, minItems, maxItems, anyOf,
// oneOf, allOf, minimum, maximum, minLength, maxLength, pattern, format (date-time, email and uri, loosely).
// Annotations are ignored; any other keyword, and any other format, is reported as unsupported, so the document
// cannot depend on something this validator would skip.
//
// Strict mode (used for examples and live responses): an object schema that lists properties but says nothing
// about additionalProperties refuses undeclared members, so every field an example or a response carries has
// to be documented. (Clients must still tolerate new fields; the document only promises the listed ones.)
class SchemaValidator {
 public:
  SchemaValidator(const Json& doc, bool strict) : doc_(doc), strict_(strict) {}

  std::vector<std::string> Validate(const Json& schema, const Json& value) const {
    std::vector<std::string> errors;
    Check(schema, value, "$", &errors, 0);
    return errors;
  }

  // Every keyword and format of `schema` and of the schemas nested in it (not following $ref: the targets are
  // linted where they are defined) is one this validator implements; Validate only meets the parts a value
  // reaches, so this makes sure no corner of the document relies on something unchecked.
  std::vector<std::string> Lint(const Json& schema, const std::string& at) const {
    std::vector<std::string> errors;
    LintInto(schema, at, &errors);
    return errors;
  }

 private:
  static bool IsKnownKeyword(const std::string& key) {
    static const std::set<std::string> kKnown = {
        "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "anyOf", "oneOf", "allOf", "minimum", "maximum", "minLength", "maxLength", "pattern", "format",
        // annotations
        "description", "title", "examples", "default", "deprecated", "readOnly", "writeOnly", "$comment"};
    return kKnown.count(key) != 0;
  }

  static bool IsKnownFormat(const Json& format) {
    return format == "date-time" || format == "email" || format == "uri";
  }

  static void LintInto(const Json& schema, const std::string& at, std::vector<std::string>* errors) {
    if (schema.is_boolean()) return;
    if (!schema.is_object()) {
      errors->push_back(at + ": a schema must be an object or a boolean");
      return;
    }
    for (const auto& [key, value] : schema.items()) {
      if (!IsKnownKeyword(key)) errors->push_back(at + ": unsupported schema keyword \"" + key + "\"");
      if (key == "format" && !IsKnownFormat(value)) errors->push_back(at + ": unsupported format " + value.dump());
      if (key == "items" || key == "additionalProperties") LintInto(value, at + "/" + key, errors);
      if (key == "properties" && value.is_object()) {
        for (const auto& [name, sub] : value.items()) LintInto(sub, at + "/properties/" + name, errors);
      }
      if ((key == "anyOf" || key == "oneOf" || key == "allOf") && value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          LintInto(value[i], at + "/" + key + "/" + std::to_string(i), errors);
        }
      }
    }
  }

  static bool HasType(const Json& value, const std::string& type) {
    if (type == "null") return value.is_null();
    if (type == "boolean") return value.is_boolean();
    if (type == "string") return value.is_string();
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "number") return value.is_number();
    if (type == "integer") {
      if (value.is_number_integer()) return true;
      if (!value.is_number_float()) return false;
      const double d = value.get<double>();
      return d == static_cast<double>(static_cast<long long>(d));
    }
    return false;
  }

  static std::size_t CodePoints(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    return n;
  }

  static bool IsDateTime(const std::string& s) {
    static const std::regex kDateTime(
        R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
    return std::regex_match(s, kDateTime);
  }

  // An absolute URI (RFC 3986: a scheme, a colon, then no whitespace), as webhook URLs are.
  static bool IsUri(const std::string& s) {
    static const std::regex kUri(R"(^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$)");
    return std::regex_match(s, kUri);
  }

  void Check(const Json& schema, const Json& value, const std::string& at, std::vector<std::string>* errors,
             int depth) const {
    if (depth > 64) {
      errors->push_back(at + ": schema nesting too deep (a $ref cycle?)");
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) errors->push_back(at + ": no value is allowed here (schema false)");
      return;
    }
    if (!schema.is_object()) {
      errors->push_back(at + ": a schema must be an object or a boolean");
      return;
    }
    for (const auto& [key, unused] : schema.items()) {
      (void)unused;
      if (!IsKnownKeyword(key)) errors->push_back(at + ": unsupported schema keyword \"" + key + "\"");
    }

    if (const auto it = schema.find("$ref"); it != schema.end()) {
      const Json* target = it->is_string() ? Resolve(doc_, it->get<std::string>()) : nullptr;
      if (target == nullptr) {
        errors->push_back(at + ": unresolved $ref " + it->dump());
      } else {
        Check(*target, value, at, errors, depth + 1);
      }
    }

    if (const auto it = schema.find("type"); it != schema.end()) {
      bool ok = false;
      if (it->is_string()) {
        ok = HasType(value, it->get<std::string>());
      } else if (it->is_array()) {
        for (const Json& type : *it) ok = ok || (type.is_string() && HasType(value, type.get<std::string>()));
      }
      if (!ok) {
        errors->push_back(at + ": " + value.dump() + " is not of type " + it->dump());
        return;  // the other keywords would only repeat the mismatch
      }
    }

    if (const auto it = schema.find("enum"); it != schema.end()) {
      if (!it->is_array() || std::find(it->begin(), it->end(), value) == it->end()) {
        errors->push_back(at + ": " + value.dump() + " is not one of " + it->dump());
      }
    }
    if (const auto it = schema.find("const"); it != schema.end() && *it != value) {
      errors->push_back(at + ": " + value.dump() + " is not " + it->dump());
    }

    if (value.is_string()) CheckString(schema, value.get<std::string>(), at, errors);
    if (value.is_number()) {
      const double number = value.get<double>();
      if (const auto it = schema.find("minimum"); it != schema.end() && number < it->get<double>()) {
        errors->push_back(at + ": " + value.dump() + " is below the minimum " + it->dump());
      }
      if (const auto it = schema.find("maximum"); it != schema.end() && number > it->get<double>()) {
        errors->push_back(at + ": " + value.dump() + " is above the maximum " + it->dump());
      }
    }
    if (value.is_object()) CheckObject(schema, value, at, errors, depth);
    if (value.is_array()) {
      if (const auto it = schema.find("minItems"); it != schema.end() && value.size() < it->get<std::size_t>()) {
        errors->push_back(at + ": fewer than " + it->dump() + " items");
      }
      if (const auto it = schema.find("maxItems"); it != schema.end() && value.size() > it->get<std::size_t>()) {
        errors->push_back(at + ": more than " + it->dump() + " items");
      }
      if (const auto it = schema.find("items"); it != schema.end()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          Check(*it, value[i], at + "[" + std::to_string(i) + "]", errors, depth + 1);
        }
      }
    }

    if (const auto it = schema.find("allOf"); it != schema.end()) {
      for (const Json& sub : *it) Check(sub, value, at, errors, depth + 1);
    }
    if (const auto it = schema.find("anyOf"); it != schema.end()) {
      bool any = false;
      for (const Json& sub : *it) any = any || Validate(sub, value, depth).empty();
      if (!any) errors->push_back(at + ": " + Brief(value) + " matches none of anyOf");
    }
    if (const auto it = schema.find("oneOf"); it != schema.end()) {
      int matches = 0;
      for (const Json& sub : *it) matches += Validate(sub, value, depth).empty() ? 1 : 0;
      if (matches != 1) {
        errors->push_back(at + ": " + Brief(value) + " matches " + std::to_string(matches) +
                          " of oneOf (exactly one is required)");
      }
    }
  }

  std::vector<std::string> Validate(const Json& schema, const Json& value, int depth) const {
    std::vector<std::string> errors;
    Check(schema, value, "", &errors, depth + 1);
    return errors;
  }

  static std::string Brief(const Json& value) {
    std::string text = value.dump();
    return text.size() > 80 ? text.substr(0, 77) + "..." : text;
  }

  void CheckString(const Json& schema, const std::string& s, const std::string& at,
                   std::vector<std::string>* errors) const {
    const auto min_length = schema.find("minLength");
    if (min_length != schema.end() && CodePoints(s) < min_length->get<std::size_t>()) {
      errors->push_back(at + ": \"" + s + "\" is shorter than " + min_length->dump());
    }
    const auto max_length = schema.find("maxLength");
    if (max_length != schema.end() && CodePoints(s) > max_length->get<std::size_t>()) {
      errors->push_back(at + ": string longer than " + max_length->dump());
    }
    if (const auto it = schema.find("pattern"); it != schema.end()) {
      if (!std::regex_search(s, std::regex(it->get<std::string>(), std::regex::ECMAScript))) {
        errors->push_back(at + ": \"" + s + "\" does not match " + it->dump());
      }
    }
    if (const auto it = schema.find("format"); it != schema.end()) {
      const std::string format = it->is_string() ? it->get<std::string>() : it->dump();
      if (format == "date-time") {
        if (!IsDateTime(s)) errors->push_back(at + ": \"" + s + "\" is not a date-time");
      } else if (format == "email") {
        // A bare address (not the "Name <a@b.example>" form): one '@' with something on both sides, no space.
        const std::size_t at_sign = s.find('@');
        if (at_sign == 0 || at_sign == std::string::npos || at_sign + 1 == s.size() ||
            s.find('@', at_sign + 1) != std::string::npos || s.find(' ') != std::string::npos) {
          errors->push_back(at + ": \"" + s + "\" is not an email address");
        }
      } else if (format == "uri") {
        if (!IsUri(s)) errors->push_back(at + ": \"" + s + "\" is not an absolute URI");
      } else {
        errors->push_back(at + ": unsupported format " + it->dump());
      }
    }
  }

  void CheckObject(const Json& schema, const Json& value, const std::string& at,
                   std::vector<std::string>* errors, int depth) const {
    if (const auto it = schema.find("required"); it != schema.end()) {
      for (const Json& name : *it) {
        if (!name.is_string() || !value.contains(name.get<std::string>())) {
          errors->push_back(at + ": missing required member " + name.dump());
        }
      }
    }
    const auto properties = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (const auto& [name, member] : value.items()) {
      const std::string member_at = at + "." + name;
      if (properties != schema.end() && properties->contains(name)) {
        Check(properties->at(name), member, member_at, errors, depth + 1);
      } else if (additional != schema.end()) {
        Check(*additional, member, member_at, errors, depth + 1);
      } else if (strict_ && properties != schema.end()) {
        errors->push_back(member_at + ": undocumented member");
      }
    }
  }

  const Json& doc_;
  bool strict_;
};

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

// ---------------------------------------------------------------------------
// Examples

struct ExampleCase {
  std::string where;
  const Json* schema;
  const Json* value;
};

// Media types, parameters and headers pair "schema" with "example" or an "examples" map of Example Objects;
// schemas carry an "examples" array of values. Example values are data, never walked into.
void CollectExamples(const Json& doc, const Json& node, const std::string& where, std::vector<ExampleCase>* out,
                     std::vector<std::string>* problems) {
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      CollectExamples(doc, node[i], where + "/" + std::to_string(i), out, problems);
    }
    return;
  }
  if (!node.is_object()) return;
  const auto schema = node.find("schema");
  if (const auto it = node.find("example"); it != node.end()) {
    out->push_back({where + "/example", schema != node.end() ? &*schema : &node, &*it});
  }
  if (const auto it = node.find("examples"); it != node.end()) {
    if (it->is_array()) {  // a schema's own examples
      for (std::size_t i = 0; i < it->size(); ++i) {
        out->push_back({where + "/examples/" + std::to_string(i), &node, &(*it)[i]});
      }
    } else if (it->is_object() && schema != node.end()) {
      for (const auto& [name, example] : it->items()) {
        const Json* resolved = Deref(doc, &example);
        if (resolved == nullptr || !resolved->is_object() || !resolved->contains("value")) {
          problems->push_back(where + "/examples/" + name + ": not an Example Object with a value");
          continue;
        }
        out->push_back({where + "/examples/" + name, &*schema, &resolved->at("value")});
      }
    } else {
      problems->push_back(where + "/examples: neither a schema's examples array nor a media type's map");
    }
  }
  for (const auto& [key, value] : node.items()) {
    if (key == "example" || key == "examples" || key == "default" || key == "const" || key == "enum") continue;
    CollectExamples(doc, value, where + "/" + key, out, problems);
  }
}

// ---------------------------------------------------------------------------
// Operations

// application/json, or a structured +json type (application/problem+json): bodies that carry JSON examples.
bool IsJsonMediaType(const std::string& type) {
  const std::string bare = Lower(type.substr(0, type.find(';')));
  return bare == "application/json" || (bare.size() > 5 && bare.compare(bare.size() - 5, 5, "+json") == 0);
}

// A media type, parameter or header with "example", or an "examples" map that is not empty.
bool HasExample(const Json& node) {
  if (node.contains("example")) return true;
  const auto it = node.find("examples");
  return it != node.end() && it->is_object() && !it->empty();
}

// The example values of a media type ("example", and each "examples" entry's "value").
std::vector<const Json*> ExampleValues(const Json& doc, const Json& media) {
  std::vector<const Json*> out;
  if (const auto it = media.find("example"); it != media.end()) out.push_back(&*it);
  if (const auto it = media.find("examples"); it != media.end() && it->is_object()) {
    for (const auto& [name, raw] : it->items()) {
      (void)name;
      const Json* example = Deref(doc, &raw);
      if (example != nullptr && example->contains("value")) out.push_back(&example->at("value"));
    }
  }
  return out;
}

// Every "schema" of parameters, headers and media types under `node` (schemas' own subschemas are linted
// through them; example values are data and are not walked).
void CollectInlineSchemas(const Json& node, const std::string& where,
                          std::vector<std::pair<std::string, const Json*>>* out) {
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) CollectInlineSchemas(node[i], where + "/" + std::to_string(i), out);
    return;
  }
  if (!node.is_object()) return;
  for (const auto& [key, value] : node.items()) {
    if (key == "example" || key == "examples") continue;
    if (key == "schema") {
      out->emplace_back(where + "/schema", &value);
    } else {
      CollectInlineSchemas(value, where + "/" + key, out);
    }
  }
}

// Strings of an example value that look like an API id ("conv_…") but lack its shape.
void CollectOddIds(const Json& value, std::vector<std::string>* out) {
  static const std::regex kIdLike("^(acc|op|app|cus|conv|msg|wh|ntf|dlv|kb)_[0-9A-Za-z]*$");
  static const std::regex kId("^[a-z]+_[0-9A-Za-z]{22}$");
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (std::regex_match(s, kIdLike) && !std::regex_match(s, kId)) out->push_back(s);
  } else if (value.is_structured()) {
    for (const Json& member : value) CollectOddIds(member, out);
  }
}

// ---------------------------------------------------------------------------
// Live responses

// Checks real exchanges against the document: the status must be documented for the operation, and the body
// must validate (strictly) against the documented schema of that status and media type, or be empty when the
// response has no content. On the request side, a body may only go to an operation that documents one, and a
// request the API accepted (2xx) must have had a body and query parameters the document describes.
class LiveChecker {
 public:
  explicit LiveChecker(const Json& doc) : doc_(doc), validator_(doc, /*strict=*/true) {}

  void Check(const Request& request, const Response& response) {
    INFO(request.method << " " << request.target << " -> " << response.status << " "
                        << response.body.substr(0, 400));
    const Json* operation = nullptr;
    const std::vector<std::string> segments = Segments(request.path);
    for (const auto& [path, item] : doc_.at("paths").items()) {
      const std::vector<std::string> pattern = Segments(path);
      if (pattern.size() != segments.size()) continue;
      bool match = true;
      for (std::size_t i = 0; i < pattern.size() && match; ++i) {
        match = IsParam(pattern[i]) ? !segments[i].empty() : pattern[i] == segments[i];
      }
      const std::string method = Lower(request.method);
      if (match && item.contains(method)) {
        operation = &item.at(method);
        break;
      }
    }
    REQUIRE(operation != nullptr);
    const std::string id = operation->value("operationId", std::string());
    const bool accepted = response.status >= 200 && response.status < 300;
    CheckRequest(*operation, id, request, accepted);
    const std::string status = std::to_string(response.status);
    const Json& responses = operation->at("responses");
    const Json* documented = responses.contains(status) ? &responses.at(status)
                             : responses.contains("default") ? &responses.at("default")
                                                              : nullptr;
    INFO("operation " << id << ": status " << status << " must be documented");
    REQUIRE(documented != nullptr);
    documented = Deref(doc_, documented);
    REQUIRE(documented != nullptr);
    if (documented->contains("content") && !documented->at("content").contains("application/json")) {
      // GET /metrics (text/plain), the dashboard, its files and the widget script (text/html, text/javascript,
      // text/css): one of the documented media types, and a body of its (string) schema.
      const std::string* type = ResponseHeader(response, "Content-Type");
      REQUIRE(type != nullptr);
      const Json* media = nullptr;
      for (const auto& [name, value] : documented->at("content").items()) {
        if (type->rfind(name, 0) == 0) media = &value;
      }
      INFO("Content-Type " << *type << " is not documented for status " << status);
      REQUIRE(media != nullptr);
      const std::vector<std::string> errors = validator_.Validate(media->at("schema"), Json(response.body));
      INFO(Join(errors));
      CHECK(errors.empty());
    } else if (documented->contains("content")) {
      const Json& media = documented->at("content").at("application/json");
      const Json body = BodyJson(response);
      REQUIRE_FALSE(body.is_discarded());
      const std::vector<std::string> errors = validator_.Validate(media.at("schema"), body);
      INFO(Join(errors));
      CHECK(errors.empty());
    } else {
      CHECK(response.body.empty());
    }
    if (response.status >= 200 && response.status < 300) exercised_.insert(id);
  }

  const std::set<std::string>& exercised() const { return exercised_; }

 private:
  void CheckRequest(const Json& operation, const std::string& id, const Request& request, bool accepted) {
    const Json* body_doc = operation.contains("requestBody") ? Deref(doc_, &operation.at("requestBody")) : nullptr;
    if (!request.body.empty()) {
      INFO("operation " << id << " was sent a body, but the document says it takes none");
      REQUIRE(body_doc != nullptr);
      if (accepted) {
        const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
        REQUIRE_FALSE(body.is_discarded());
        const Json& schema = body_doc->at("content").at("application/json").at("schema");
        const std::vector<std::string> errors = validator_.Validate(schema, body);
        INFO("operation " << id << " accepted " << request.body.substr(0, 300)
                          << "\nbut its documented request schema refuses it:" << Join(errors));
        CHECK(errors.empty());
      }
    }
    if (!accepted) return;
    for (const auto& [name, value] : server::http::ParseQuery(request.query)) {
      const Json* parameter = nullptr;
      for (const Json& raw : operation.value("parameters", Json::array())) {
        const Json* candidate = Deref(doc_, &raw);
        if (candidate != nullptr && candidate->value("in", "") == "query" && candidate->value("name", "") == name) {
          parameter = candidate;
        }
      }
      INFO("operation " << id << " accepted the query parameter " << name << ", which it does not document");
      CHECK(parameter != nullptr);
      if (parameter == nullptr) continue;
      const std::vector<std::string> errors =
          validator_.Validate(parameter->at("schema"), QueryValue(*parameter, value));
      INFO("?" << name << "=" << value << Join(errors));
      CHECK(errors.empty());
    }
  }

  // A query string value as the JSON value its schema describes: digits are an integer where the schema allows
  // one, anything else a string.
  Json QueryValue(const Json& parameter, const std::string& value) const {
    const Json* schema = Deref(doc_, &parameter.at("schema"));
    bool integer = false;
    if (schema != nullptr && schema->contains("type")) {
      const Json& type = schema->at("type");
      integer = type == "integer" || (type.is_array() && std::find(type.begin(), type.end(), "integer") != type.end());
    }
    const bool digits = !value.empty() && value.size() <= 18 &&
                        value.find_first_not_of("0123456789") == std::string::npos;
    if (integer && digits) return Json(std::stoll(value));
    return Json(value);
  }

  const Json& doc_;
  SchemaValidator validator_;
  std::set<std::string> exercised_;
};

// ---------------------------------------------------------------------------
// Tests

TEST_CASE("openapi: the document parses, is OpenAPI 3.1 and is what the server serves", "[openapi]") {
  const Json doc = LoadDocument();
  REQUIRE(doc.contains("openapi"));
  REQUIRE(doc["openapi"].is_string());
  CHECK(doc["openapi"].get<std::string>().rfind("3.1.", 0) == 0);
  CHECK(doc["info"]["title"] == "libchat");
  CHECK(doc["info"]["version"] == LIBCHAT_VERSION);
  CHECK(doc["info"]["description"].is_string());
  REQUIRE(doc["servers"].is_array());
  CHECK(doc["servers"][0]["url"] == "http://127.0.0.1:8080");
  REQUIRE(doc["paths"].is_object());
  REQUIRE(doc["components"]["securitySchemes"].is_object());
  for (const char* name :
       {"Account", "App", "Customer", "Conversation", "Message", "Sender", "Receipt", "Error"}) {
    INFO(name);
    CHECK(doc["components"]["schemas"].contains(name));
  }

  // The compiled-in copy (server/CMakeLists.txt embeds the file at configure time) is the same document.
  const std::string_view served = server::OpenApiDocument();
  const Json compiled = Json::parse(served.begin(), served.end(), nullptr, /*allow_exceptions=*/false);
  INFO("rebuild (re-run CMake) after editing docs/openapi.json");
  CHECK(compiled == doc);
}

TEST_CASE("openapi: documented routes are exactly the routes that exist", "[openapi]") {
  const Json doc = LoadDocument();
  const std::set<RouteKey> documented = DocumentedRoutes(doc);

  std::set<RouteKey> existing = RegisteredRoutes();
  REQUIRE(existing.size() > 10);  // the route groups registered something: the comparison below is not vacuous
  for (const RouteKey& route : kApiOwnRoutes) CHECK(existing.insert(route).second);
  for (const RouteKey& route : kTransportRoutes) CHECK(existing.insert(route).second);

  std::set<RouteKey> undocumented;
  std::set_difference(existing.begin(), existing.end(), documented.begin(), documented.end(),
                      std::inserter(undocumented, undocumented.end()));
  std::set<RouteKey> nonexistent;
  std::set_difference(documented.begin(), documented.end(), existing.begin(), existing.end(),
                      std::inserter(nonexistent, nonexistent.end()));
  INFO("routes without documentation in docs/openapi.json:" << Describe(undocumented));
  INFO("documented routes that do not exist (a new route group? add its Add*Routes call to RegisteredRoutes):"
       << Describe(nonexistent));
  CHECK(undocumented.empty());
  CHECK(nonexistent.empty());

  // The running Api agrees, path by path: OPTIONS lists what a path allows (404: no such path).
  ApiHarness h;
  std::map<std::string, std::set<std::string>> documented_by_path;
  for (const auto& [method, path] : documented) documented_by_path[path].insert(method);
  std::set<std::string> probes;
  for (const auto& [path, unused] : doc["paths"].items()) {
    (void)unused;
    probes.insert(path);
  }
  for (const char* path : kContractPaths) probes.insert(path);
  for (const std::string& pattern : probes) {
    const std::string normalized = NormalizePath(pattern);
    std::set<std::string> expected = documented_by_path[normalized];
    for (const auto& [method, path] : kTransportRoutes) {
      if (path == normalized) expected.erase(method);  // not the Api's: it must not route these itself
    }
    const Response response = h.Get(ConcretePath(pattern), {}, "OPTIONS");
    std::set<std::string> allowed;
    if (response.status == 204) {
      const std::string* allow = ResponseHeader(response, "Allow");
      REQUIRE(allow != nullptr);
      allowed = AllowedMethods(*allow);
    } else {
      CHECK(response.status == 404);
    }
    INFO("OPTIONS " << ConcretePath(pattern) << " -> " << response.status);
    CHECK(allowed == expected);
  }
}

TEST_CASE("openapi: references, security, operation ids and path parameters", "[openapi]") {
  const Json doc = LoadDocument();

  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc, "#", &refs);
  REQUIRE(refs.size() > 50);
  for (const auto& [where, ref] : refs) {
    INFO(where << " -> " << ref);
    CHECK(Resolve(doc, ref) != nullptr);
  }

  const Json& schemes = doc["components"]["securitySchemes"];
  for (const char* header : {"X-API-Key", "X-User-Id", "X-Authorization-Key", "X-Master-Key"}) {
    bool found = false;
    for (const auto& [name, scheme] : schemes.items()) {
      (void)name;
      found = found || (scheme.value("in", "") == "header" && scheme.value("name", "") == header);
    }
    INFO(header);
    CHECK(found);
  }
  auto check_security = [&](const Json& requirements, const std::string& where) {
    REQUIRE(requirements.is_array());
    for (const Json& requirement : requirements) {
      for (const auto& [name, scopes] : requirement.items()) {
        (void)scopes;
        INFO(where << ": security scheme " << name);
        CHECK(schemes.contains(name));
      }
    }
  };
  if (doc.contains("security")) check_security(doc["security"], "#/security");

  std::set<std::string> ids;
  int operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    std::set<std::string> template_params;
    for (const std::string& segment : Segments(path)) {
      if (IsParam(segment)) template_params.insert(segment.substr(1, segment.size() - 2));
    }
    for (const char* method : kHttpMethods) {
      if (!item.contains(method)) continue;
      ++operations;
      const Json& operation = item[method];
      const std::string where = Upper(method) + " " + path;
      INFO(where);

      REQUIRE(operation.contains("operationId"));
      REQUIRE(operation["operationId"].is_string());
      CHECK(ids.insert(operation["operationId"].get<std::string>()).second);  // unique

      // Every operation says who may call it (an empty list: no authentication).
      REQUIRE(operation.contains("security"));
      check_security(operation["security"], where);

      // Path parameters: exactly those of the template, all required.
      std::set<std::string> declared;
      for (const Json& raw : operation.value("parameters", Json::array())) {
        const Json* parameter = Deref(doc, &raw);
        REQUIRE(parameter != nullptr);
        if (parameter->value("in", "") != "path") continue;
        declared.insert(parameter->value("name", ""));
        CHECK(parameter->value("required", false));
      }
      CHECK(declared == template_params);
    }
  }
  CHECK(operations == static_cast<int>(DocumentedRoutes(doc).size()));
}

TEST_CASE("openapi: every operation documents its request and responses with schemas and examples", "[openapi]") {
  const Json doc = LoadDocument();
  const SchemaValidator validator(doc, /*strict=*/true);

  // Every schema anywhere in the document uses only what the validator implements.
  std::vector<std::string> unsupported;
  for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
    for (std::string& e : validator.Lint(schema, "#/components/schemas/" + name)) unsupported.push_back(std::move(e));
  }
  std::vector<std::pair<std::string, const Json*>> inline_schemas;
  CollectInlineSchemas(doc["paths"], "#/paths", &inline_schemas);
  for (const char* group : {"parameters", "headers", "responses", "requestBodies"}) {
    if (doc["components"].contains(group)) {
      CollectInlineSchemas(doc["components"][group], std::string("#/components/") + group, &inline_schemas);
    }
  }
  for (const auto& [where, schema] : inline_schemas) {
    for (std::string& e : validator.Lint(*schema, where)) unsupported.push_back(std::move(e));
  }
  INFO("schema keywords or formats the validator does not implement:" << Join(unsupported));
  CHECK(unsupported.empty());

  int operations = 0;
  int request_bodies = 0;
  int non_json_media = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const char* method : kHttpMethods) {
      if (!item.contains(method)) continue;
      ++operations;
      const Json& operation = item[method];
      const std::string where = Upper(method) + " " + path;
      INFO(where);
      CHECK(operation.value("summary", "") != "");
      CHECK(operation.value("description", "") != "");

      // Parameters: a schema and an example each.
      for (const Json& raw : operation.value("parameters", Json::array())) {
        const Json* parameter = Deref(doc, &raw);
        REQUIRE(parameter != nullptr);
        INFO("parameter " << parameter->value("in", "") << " " << parameter->value("name", ""));
        CHECK(parameter->contains("schema"));
        CHECK(HasExample(*parameter));
      }

      // The request: the API reads JSON bodies only; a documented body has a schema and an example.
      const bool has_body = operation.contains("requestBody");
      const std::string verb = Upper(method);
      if (verb == "GET" || verb == "HEAD" || verb == "DELETE") CHECK_FALSE(has_body);
      if (has_body) {
        ++request_bodies;
        const Json* body = Deref(doc, &operation.at("requestBody"));
        REQUIRE(body != nullptr);
        REQUIRE(body->contains("content"));
        REQUIRE_FALSE(body->at("content").empty());
        for (const auto& [type, media] : body->at("content").items()) {
          INFO("request body " << type);
          CHECK(IsJsonMediaType(type));
          CHECK(media.contains("schema"));
          CHECK(HasExample(media));
        }
      }

      const Json& responses = operation.at("responses");
      const bool anonymous = operation.at("security").empty() ||
                             std::find(operation["security"].begin(), operation["security"].end(),
                                       Json::object()) != operation["security"].end();
      const bool has_path_params = path.find('{') != std::string::npos;
      // The errors every such operation can meet: bad or oversized bodies, missing credentials, unknown ids.
      if (has_body) CHECK((responses.contains("400") && responses.contains("413")));
      if (!anonymous) CHECK(responses.contains("401"));
      if (has_path_params) CHECK(responses.contains("404"));

      int successes = 0;
      int errors = 0;
      for (const auto& [status, raw] : responses.items()) {
        INFO("status " << status);
        const Json* response = Deref(doc, &raw);
        REQUIRE(response != nullptr);
        CHECK(response->value("description", "") != "");
        const Json headers = response->value("headers", Json::object());
        for (const auto& [name, header] : headers.items()) {
          const Json* resolved = Deref(doc, &header);
          INFO("header " << name);
          REQUIRE(resolved != nullptr);
          CHECK(resolved->contains("schema"));
        }
        // 101 (the WebSocket upgrade), 204 and 304 have no body; every other success and every error has one.
        const bool bodiless = status == "101" || status == "204" || status == "304";
        const bool success = status == "101" || (status.size() == 3 && status[0] == '2');
        const bool error = status.size() == 3 && (status[0] == '4' || status[0] == '5');
        successes += success ? 1 : 0;
        errors += error ? 1 : 0;
        if (bodiless) {
          CHECK_FALSE(response->contains("content"));
          continue;
        }
        CHECK((success || error));
        REQUIRE(response->contains("content"));
        REQUIRE_FALSE(response->at("content").empty());
        for (const auto& [type, media] : response->at("content").items()) {
          INFO("media type " << type);
          REQUIRE(media.contains("schema"));
          if (IsJsonMediaType(type)) {
            CHECK(HasExample(media));
          } else {
            // Prometheus text, HTML, scripts, style sheets: a string body, described by the operation; an
            // example is optional there (and validated when given).
            ++non_json_media;
            CHECK(success);
            const Json* schema = Deref(doc, &media.at("schema"));
            REQUIRE(schema != nullptr);
            CHECK(schema->value("type", "") == "string");
          }
        }
        if (error) {
          // The shared envelope: Error itself, or (GET /health's 503) a body whose `error` member is Error's.
          const Json& content = response->at("content");
          REQUIRE(content.contains("application/json"));
          const Json& schema = content.at("application/json").at("schema");
          const Json* resolved = Deref(doc, &schema);
          REQUIRE(resolved != nullptr);
          const Json::json_pointer error_member("/properties/error/$ref");
          const bool envelope = schema.value("$ref", "") == "#/components/schemas/Error" ||
                                (resolved->contains(error_member) &&
                                 resolved->at(error_member) == "#/components/schemas/Error/properties/error");
          CHECK(envelope);
          for (const Json* value : ExampleValues(doc, content.at("application/json"))) {
            CHECK(value->contains("error"));
          }
        }
      }
      CHECK(successes > 0);
      CHECK(errors > 0);
    }
  }
  CHECK(operations == static_cast<int>(DocumentedRoutes(doc).size()));
  CHECK(request_bodies > 20);  // the rules above were applied to real bodies
  CHECK(non_json_media >= 5);  // /metrics, /, /widget.js, /app/{file} (scripts and styles)
}

TEST_CASE("openapi: the schema validator accepts what it should and refuses what it should", "[openapi]") {
  const Json doc = LoadDocument();
  const SchemaValidator strict(doc, /*strict=*/true);
  const SchemaValidator loose(doc, /*strict=*/false);
  const Json message_ref = {{"$ref", "#/components/schemas/Message"}};
  Json message = doc["components"]["schemas"]["Message"]["examples"][0];
  REQUIRE(strict.Validate(message_ref, message).empty());

  auto refused = [&](const Json& value) { return !strict.Validate(message_ref, value).empty(); };
  Json m = message;
  m.erase("seq");
  CHECK(refused(m));  // required
  m = message;
  m["seq"] = "1";
  CHECK(refused(m));  // type
  m = message;
  m["seq"] = 0;
  CHECK(refused(m));  // minimum
  m = message;
  m["sender"]["type"] = "robot";
  CHECK(refused(m));  // enum, through a nested $ref
  m = message;
  m["created_at"] = "yesterday";
  CHECK(refused(m));  // format date-time
  m = message;
  m["edited_at"] = "2026-01-01T00:00:00.000Z";
  CHECK_FALSE(refused(m));  // ["string", "null"]
  m["client_msg_id"] = 7;
  CHECK(refused(m));
  m = message;
  m["id"] = "conv_x";
  CHECK(refused(m));  // pattern
  m = message;
  m["colour"] = "blue";
  CHECK(refused(m));  // undocumented member, strict mode
  CHECK(loose.Validate(message_ref, m).empty());
  m = message;
  m["metadata"] = Json{{"anything", Json::array({1, 2})}};
  CHECK_FALSE(refused(m));  // free-form object

  const Json conversation_ref = {{"$ref", "#/components/schemas/Conversation"}};
  Json conversation = doc["components"]["schemas"]["Conversation"]["examples"][0];
  REQUIRE(strict.Validate(conversation_ref, conversation).empty());
  conversation["last_message"] = nullptr;
  CHECK(strict.Validate(conversation_ref, conversation).empty());  // anyOf null
  conversation["last_message"] = "none";
  CHECK_FALSE(strict.Validate(conversation_ref, conversation).empty());

  const Json frame_ref = {{"$ref", "#/components/schemas/WsServerFrame"}};
  const Json shutdown = {{"type", "shutdown"}, {"data", {{"reconnect_after_ms", 1000}}}};
  CHECK(strict.Validate(frame_ref, shutdown).empty());
  CHECK_FALSE(strict.Validate(frame_ref, Json{{"type", "shutdown"}, {"data", Json::object()}}).empty());
  const Json nonsense = {{"type", "nonsense"}, {"data", Json::object()}};
  CHECK_FALSE(strict.Validate(frame_ref, nonsense).empty());  // oneOf: no member matches

  CHECK_FALSE(strict.Validate(Json{{"$ref", "#/components/schemas/Nope"}}, Json(1)).empty());
  CHECK_FALSE(strict.Validate(Json{{"nullable", true}}, Json(1)).empty());  // unsupported keyword
  CHECK_FALSE(strict.Validate(Json{{"type", "string"}, {"format", "hostname"}}, Json("a.example")).empty());
  CHECK_FALSE(strict.Lint(Json{{"properties", {{"a", {{"type", "integer"}, {"exclusiveMinimum", 0}}}}}}, "#").empty());
  CHECK_FALSE(strict.Lint(Json{{"items", {{"format", "uuid"}}}}, "#").empty());
  CHECK(strict.Lint(doc["components"]["schemas"]["Message"], "#").empty());
  const Json uri = {{"type", "string"}, {"format", "uri"}};
  CHECK(strict.Validate(uri, Json("https://hooks.acme.example/libchat")).empty());
  CHECK_FALSE(strict.Validate(uri, Json("hooks.acme.example/libchat")).empty());
  const Json email = {{"type", "string"}, {"format", "email"}};
  CHECK(strict.Validate(email, Json("grace@example.com")).empty());
  CHECK_FALSE(strict.Validate(email, Json("Grace <grace@example.com>")).empty());
  const Json few = {{"type", "array"}, {"minItems", 1}, {"maxItems", 2}};
  CHECK_FALSE(strict.Validate(few, Json::array()).empty());
  CHECK(strict.Validate(few, Json::array({1, 2})).empty());
  CHECK_FALSE(strict.Validate(few, Json::array({1, 2, 3})).empty());

  // A request body the server refuses is refused by its documented schema too.
  const Json notification_ref = {{"$ref", "#/components/schemas/NotificationCreate"}};
  Json notification = doc["components"]["schemas"]["NotificationCreate"]["examples"][0];
  REQUIRE(strict.Validate(notification_ref, notification).empty());
  notification["to"]["email"] = "grace@example.com";
  CHECK_FALSE(strict.Validate(notification_ref, notification).empty());  // oneOf: two kinds of recipient
  notification["to"] = Json{{"customer_ids", Json::array()}};
  CHECK_FALSE(strict.Validate(notification_ref, notification).empty());  // minItems
  const Json member_ref = {{"$ref", "#/components/schemas/MemberObjectInput"}};
  CHECK(strict.Validate(member_ref, Json{{"external_id", "user-8"}}).empty());
  CHECK_FALSE(strict.Validate(member_ref, Json{{"role", "admin"}}).empty());  // anyOf: names no member
  CHECK_FALSE(strict.Validate(Json{{"type", Json::array({"integer", "null"})}}, Json(1.5)).empty());
  CHECK(strict.Validate(Json{{"type", "integer"}}, Json(2.0)).empty());
}

TEST_CASE("openapi: every example validates against its schema", "[openapi]") {
  const Json doc = LoadDocument();
  std::vector<ExampleCase> examples;
  std::vector<std::string> problems;
  CollectExamples(doc, doc, "#", &examples, &problems);
  INFO(Join(problems));
  CHECK(problems.empty());
  REQUIRE(examples.size() > 60);

  const SchemaValidator validator(doc, /*strict=*/true);
  for (const ExampleCase& example : examples) {
    const std::vector<std::string> errors = validator.Validate(*example.schema, *example.value);
    INFO(example.where << Join(errors));
    CHECK(errors.empty());
    // Realistic ids: an id-looking string in an example has the shape the API generates (prefix + 22
    // alphanumerics, libchat/src/util/crypto.h NewId), so examples can be pasted and compared with real output.
    std::vector<std::string> odd_ids;
    CollectOddIds(*example.value, &odd_ids);
    INFO(example.where << ": ids not shaped like the API's:" << Join(odd_ids));
    CHECK(odd_ids.empty());
  }
  // Every named schema shows what it looks like.
  for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
    if (schema.contains("oneOf")) continue;  // unions: their members have examples
    INFO("components/schemas/" << name << " has no examples");
    CHECK((schema.contains("examples") && !schema["examples"].empty()));
  }
}

TEST_CASE("openapi: real API responses match the documented schemas", "[openapi]") {
  const Json doc = LoadDocument();
  server::ApiOptions options = ApiHarness::DefaultApiOptions();
  options.openapi_json = std::string(server::OpenApiDocument());
  server::ServerCounters counters;
  options.render_metrics = [&counters] { return server::RenderServerMetrics(counters, StoreMetrics(), "test"); };
  RecordingDelivery delivery;  // webhooks and email go to recording doubles, never to the network
  ApiHarness h(options, [&delivery](Options& chat_options) { UseRecordingDelivery(chat_options, delivery); });
  LiveChecker live(doc);

  // Calls through the harness (which checks request ids and the error envelope) and then the document.
  auto call = [&](const std::string& method, const std::string& target, const Json& body = Json(),
                  std::vector<Header> headers = {}, bool allow_5xx = false) {
    Request request = MakeRequest(method, target, body.is_null() ? "" : body.dump(), std::move(headers));
    Response response = h.Call(request, allow_5xx);
    live.Check(request, response);
    return response;
  };
  auto json_of = [](const Response& response) { return BodyJson(response); };

  // Operations
  CHECK(call("GET", "/health").status == 200);
  CHECK(call("GET", "/openapi.json").status == 200);
  CHECK(call("GET", "/metrics").status == 200);

  // Accounts
  const Json credentials = {{"email", "ada@example.com"}, {"password", "correct horse battery"}};
  Response registered = call("POST", "/v1/auth/register",
                             Json{{"email", "ada@example.com"}, {"password", "correct horse battery"},
                                  {"name", "Ada Lovelace"}});
  REQUIRE(registered.status == 201);
  const std::string token = json_of(registered)["token"].get<std::string>();
  const std::string account_id = json_of(registered)["account"]["id"].get<std::string>();
  const Header owner = Bearer(token);
  CHECK(call("POST", "/v1/auth/register",
             Json{{"email", "ada@example.com"}, {"password", "correct horse battery"}, {"name", "Ada"}})
            .status == 409);
  CHECK(call("POST", "/v1/auth/register", Json{{"email", "x@example.com"}}).status == 400);
  CHECK(call("POST", "/v1/auth/login", Json{{"email", "ada@example.com"}, {"password", "wrong password!"}})
            .status == 401);
  Response login = call("POST", "/v1/auth/login", credentials);
  REQUIRE(login.status == 200);
  const Header second = Bearer(json_of(login)["token"].get<std::string>());
  CHECK(call("GET", "/v1/auth/me", Json(), {owner}).status == 200);
  CHECK(call("GET", "/v1/auth/me").status == 401);
  CHECK(call("PATCH", "/v1/auth/me", Json{{"name", "Ada King"}}, {owner}).status == 200);
  CHECK(call("PATCH", "/v1/auth/me",
             Json{{"new_password", "another long password"}, {"current_password", "nope nope nope"}}, {owner})
            .status == 403);
  CHECK(call("POST", "/v1/auth/logout", Json(), {second}).status == 204);
  CHECK(call("GET", "/v1/auth/me", Json(), {second}).status == 401);

  // Apps
  Response created = call("POST", "/v1/apps",
                           Json{{"name", "Acme Support"}, {"theme", {{"color", "#3b82f6"}}},
                                {"prechat", Json::array({Json{{"id", "email"}, {"label", "Your email"}}})}},
                           {owner});
  REQUIRE(created.status == 201);
  const std::string app = json_of(created)["app"]["id"].get<std::string>();
  const Header publishable = ApiKey(json_of(created)["publishable_key"].get<std::string>());
  const Header secret = ApiKey(json_of(created)["secret_key"].get<std::string>());
  Response created2 = call("POST", "/v1/apps", Json{{"name", "Acme Sales"}}, {owner});
  REQUIRE(created2.status == 201);
  const std::string app2 = json_of(created2)["app"]["id"].get<std::string>();
  Response first_page = call("GET", "/v1/apps?limit=1", Json(), {owner});
  REQUIRE(first_page.status == 200);
  REQUIRE(json_of(first_page)["next_cursor"].is_string());
  CHECK(call("GET", "/v1/apps?limit=1&cursor=" + json_of(first_page)["next_cursor"].get<std::string>(), Json(),
             {owner}).status == 200);
  CHECK(call("GET", "/v1/apps?limit=500", Json(), {owner}).status == 400);
  CHECK(call("GET", "/v1/apps/" + app, Json(), {owner}).status == 200);
  CHECK(call("GET", "/v1/apps/app_doesnotexist", Json(), {owner}).status == 404);
  CHECK(call("GET", "/v1/apps/" + app, Json(), {publishable}).status == 403);
  CHECK(call("PATCH", "/v1/apps/" + app, Json{{"name", "Acme Help"}}, {owner}).status == 200);
  CHECK(call("POST", "/v1/apps/" + app2 + "/keys/rotate", Json{{"kind", "secret"}}, {owner}).status == 200);
  CHECK(call("POST", "/v1/apps/" + app2 + "/keys/rotate", Json{{"kind", "other"}}, {owner}).status == 400);
  CHECK(call("DELETE", "/v1/apps/" + app2, Json(), {owner}).status == 204);

  // SDK
  CHECK(call("GET", "/v1/sdk/config", Json(), {publishable}).status == 200);
  Response session = call("POST", "/v1/sdk/sessions",
                          Json{{"customer", {{"external_id", "user-42"}, {"name", "Grace Hopper"}}},
                               {"metadata", {{"plan", "pro"}}}},
                          {publishable});
  REQUIRE(session.status == 201);
  const std::string other_conversation = json_of(session)["conversation"]["id"].get<std::string>();
  Response first = call("POST", "/v1/sdk/messages",
                        Json{{"text", "Hello, I need help"}, {"client_msg_id", "c-1"}}, {publishable});
  REQUIRE(first.status == 201);
  const std::string conversation = json_of(first)["conversation_id"].get<std::string>();
  const Header customer = Bearer(json_of(first)["session_token"].get<std::string>());
  CHECK(call("POST", "/v1/sdk/messages",
             Json{{"text", "Hello, I need help"}, {"client_msg_id", "c-1"}, {"conversation_id", conversation}},
             {publishable, customer}).status == 200);
  CHECK(call("POST", "/v1/sdk/messages", Json{{"text", "Order #1234"}, {"conversation_id", conversation}},
             {customer}).status == 201);
  CHECK(call("POST", "/v1/sdk/messages", Json{{"text", "x"}, {"conversation_id", conversation}}, {publishable})
            .status == 401);
  CHECK(call("GET", "/v1/sdk/conversations", Json(), {customer}).status == 200);
  CHECK(call("GET", "/v1/sdk/conversations", Json(), {publishable}).status == 401);
  CHECK(call("GET", "/v1/sdk/conversations/" + conversation, Json(), {customer}).status == 200);
  CHECK(call("GET", "/v1/sdk/conversations/" + other_conversation, Json(), {customer}).status == 404);
  const std::string sdk_conv = "/v1/sdk/conversations/" + conversation;
  CHECK(call("GET", sdk_conv + "/messages?after_seq=0&limit=1", Json(), {customer}).status == 200);
  CHECK(call("POST", sdk_conv + "/read", Json{{"seq", 2}}, {customer}).status == 200);
  CHECK(call("POST", sdk_conv + "/typing", Json{{"state", "start"}}, {customer}).status == 204);

  // Conversations
  const std::string inbox = "/v1/apps/" + app + "/conversations";
  CHECK(call("GET", inbox + "?status=open&limit=10", Json(), {owner}).status == 200);
  CHECK(call("GET", inbox + "?type=support&assignee=none", Json(), {secret}).status == 200);
  CHECK(call("GET", inbox + "?status=closed", Json(), {owner}).status == 400);
  const std::string conv = "/v1/conversations/" + conversation;
  CHECK(call("GET", conv, Json(), {owner}).status == 200);
  CHECK(call("PATCH", conv,
             Json{{"status", "snoozed"}, {"snoozed_until", "2030-01-01T00:00:00.000Z"},
                  {"assignee_id", account_id}, {"name", "Order 1234"}, {"metadata", {{"priority", "high"}}}},
             {owner}).status == 200);
  CHECK(call("PATCH", conv, Json{{"status", "resolved"}}, {customer}).status == 403);
  const Json reply = {{"text", "Hi Grace! Let me check."}, {"client_msg_id", "op-1"},
                      {"metadata", {{"source", "dashboard"}}}};
  CHECK(call("POST", conv + "/messages", reply, {owner}).status == 201);
  CHECK(call("POST", conv + "/messages", reply, {owner}).status == 200);
  CHECK(call("POST", "/v1/conversations/" + other_conversation + "/messages", Json{{"text", "as user-42"}},
             {secret, Header{"X-User-Id", "user-42"}}).status == 201);
  CHECK(call("POST", conv + "/messages", Json{{"text", ""}}, {owner}).status == 400);
  CHECK(call("GET", conv + "/messages?before_seq=3&limit=50", Json(), {owner}).status == 200);
  CHECK(call("GET", conv + "/messages?before_seq=3&after_seq=1", Json(), {owner}).status == 400);
  CHECK(call("POST", conv + "/read", Json{{"seq", 3}}, {owner}).status == 200);
  CHECK(call("POST", conv + "/read", Json{{"seq", 99}}, {owner}).status == 400);
  CHECK(call("POST", conv + "/typing", Json{{"state", "stop"}}, {owner}).status == 204);
  CHECK(call("GET", conv, Json(), {owner}).status == 200);

  // dm, group, channel, members, edits
  Response customer_me = call("GET", "/v1/sdk/conversations/" + conversation, Json(), {customer});
  const std::string customer_id = json_of(customer_me)["customer_id"].get<std::string>();
  const Json group_members = Json::array({customer_id, Json{{"external_id", "user-7"}, {"role", "admin"}}});
  Response group = call("POST", inbox,
                        Json{{"type", "group"}, {"name", "Beta testers"}, {"members", group_members}}, {owner});
  REQUIRE(group.status == 201);
  const std::string group_path = "/v1/conversations/" + json_of(group)["id"].get<std::string>();
  Response dm = call("POST", inbox, Json{{"type", "dm"}, {"members", Json::array({customer_id})}}, {owner});
  CHECK(dm.status == 201);
  CHECK(call("POST", inbox, Json{{"type", "dm"}, {"members", Json::array({customer_id})}}, {owner}).status == 200);
  CHECK(call("POST", inbox, Json{{"type", "support"}, {"members", Json::array()}}, {owner}).status == 400);
  CHECK(call("POST", inbox, Json{{"type", "group"}, {"members", Json::array({"cus_nobody"})}}, {owner}).status ==
        404);
  CHECK(call("GET", group_path + "/members", Json(), {customer}).status == 200);
  Response added = call("POST", group_path + "/members", Json{{"external_id", "user-8"}}, {owner});
  REQUIRE(added.status == 201);
  const std::string added_id = json_of(added)["id"].get<std::string>();
  CHECK(call("POST", group_path + "/members", Json{{"id", added_id}, {"role", "admin"}}, {owner}).status == 200);
  CHECK(call("POST", group_path + "/members", Json{{"id", added_id}}, {customer}).status == 403);
  CHECK(call("DELETE", group_path + "/members/" + added_id, Json(), {owner}).status == 204);
  CHECK(call("DELETE", group_path + "/members/" + added_id, Json(), {owner}).status == 404);
  Response posted = call("POST", group_path + "/messages", Json{{"text", "Welcome!"}}, {owner});
  REQUIRE(posted.status == 201);
  const std::string posted_path = group_path + "/messages/" + json_of(posted)["message"]["id"].get<std::string>();
  CHECK(call("PATCH", posted_path, Json{{"text", "Welcome, all!"}}, {owner}).status == 200);
  CHECK(call("PATCH", posted_path, Json{{"text", "hijack"}}, {customer}).status == 403);
  CHECK(call("PATCH", posted_path, Json{{"text", 5}}, {owner}).status == 400);
  CHECK(call("DELETE", posted_path, Json(), {customer}).status == 403);
  CHECK(call("DELETE", posted_path, Json(), {owner}).status == 200);
  CHECK(call("PATCH", posted_path, Json{{"text", "again"}}, {owner}).status == 409);
  CHECK(call("GET", group_path, Json(), {owner}).status == 200);

  // Delivery: webhooks, the outbox, the email provider, the policy, notifications
  const std::string apps = "/v1/apps/" + app;
  const Json hook_body = {{"url", "https://93.184.215.14/hooks"}, {"events", Json::array({"message.created"})}};
  Response hook = call("POST", apps + "/webhooks", hook_body, {owner});
  REQUIRE(hook.status == 201);
  const std::string hook_path = apps + "/webhooks/" + json_of(hook)["webhook"]["id"].get<std::string>();
  CHECK(call("POST", apps + "/webhooks", Json{{"url", "http://127.0.0.1/x"}, {"events", hook_body["events"]}}, {owner})
            .status == 400);
  CHECK(call("GET", apps + "/webhooks", Json(), {secret}).status == 200);
  CHECK(call("GET", hook_path, Json(), {owner}).status == 200);
  CHECK(call("GET", apps + "/webhooks/wh_nothere", Json(), {owner}).status == 404);
  CHECK(call("PATCH", hook_path, Json{{"enabled", true}}, {owner}).status == 200);
  CHECK(call("POST", hook_path + "/rotate-secret", Json(), {owner}).status == 200);
  REQUIRE(call("POST", conv + "/messages", Json{{"text", "Shipped!"}}, {owner}).status == 201);
  REQUIRE(h.chat->ProcessDueDeliveries(10).ok());
  Response outbox = call("GET", apps + "/deliveries?status=delivered&channel=webhook", Json(), {owner});
  REQUIRE(outbox.status == 200);
  REQUIRE_FALSE(json_of(outbox)["data"].empty());
  const std::string delivery_path = apps + "/deliveries/" + json_of(outbox)["data"][0]["id"].get<std::string>();
  CHECK(call("GET", hook_path + "/deliveries?limit=5", Json(), {owner}).status == 200);
  CHECK(call("GET", apps + "/deliveries?status=lost", Json(), {owner}).status == 400);
  CHECK(call("GET", delivery_path, Json(), {owner}).status == 200);
  CHECK(call("POST", delivery_path + "/retry", Json(), {owner}).status == 202);
  CHECK(call("POST", delivery_path + "/retry", Json(), {owner}).status == 409);
  const std::string provider = apps + "/email-provider";
  CHECK(call("GET", provider, Json(), {owner}).status == 404);
  CHECK(call("PUT", provider,
             Json{{"type", "smtp"}, {"from", "Acme <support@acme.example>"}, {"host", "smtp.acme.example"},
                  {"port", 587}, {"username", "mailer"}, {"password", "pw-0123456789"}},
             {owner}).status == 200);
  CHECK(call("PUT", provider, Json{{"type", "fax"}, {"from", "a@acme.example"}}, {owner}).status == 400);
  CHECK(call("GET", provider, Json(), {secret}).status == 200);
  CHECK(call("GET", apps + "/delivery-policy", Json(), {owner}).status == 200);
  CHECK(call("PUT", apps + "/delivery-policy",
             Json{{"channels", Json::array({"webhook", "email"})}, {"offline_after_s", 30}}, {owner}).status == 200);
  CHECK(call("PUT", apps + "/delivery-policy", Json{{"offline_after_s", -1}}, {owner}).status == 400);
  const Json email_notification = {{"to", {{"email", "grace@example.com"}}},
                                   {"channels", Json::array({"email"})},
                                   {"subject", "Shipped"},
                                   {"body", "On its way"}};
  Response queued = call("POST", apps + "/notifications", email_notification, {owner});
  REQUIRE(queued.status == 202);
  const std::string notification = apps + "/notifications/" + json_of(queued)["id"].get<std::string>();
  REQUIRE(h.chat->ProcessDueDeliveries(10).ok());
  CHECK(call("GET", notification, Json(), {owner}).status == 200);
  CHECK(call("DELETE", notification, Json(), {owner}).status == 409);
  CHECK(call("POST", apps + "/notifications", Json{{"to", {{"email", "grace@example.com"}}}}, {owner}).status == 400);
  delivery.email->SetOutcome(SendOutcome::Failed(SendOutcome::Kind::kPermanent, 550, "mailbox unavailable"));
  Response doomed = call("POST", apps + "/notifications", email_notification, {owner});
  REQUIRE(doomed.status == 202);
  REQUIRE(h.chat->ProcessDueDeliveries(10).ok());
  CHECK(call("POST", apps + "/notifications/" + json_of(doomed)["id"].get<std::string>() + "/retry", Json(), {owner})
            .status == 202);
  Json later_body = email_notification;
  later_body["scheduled_at"] = "2026-06-01T09:00:00.000Z";
  Response later = call("POST", apps + "/notifications", later_body, {owner});
  REQUIRE(later.status == 202);
  CHECK(call("DELETE", apps + "/notifications/" + json_of(later)["id"].get<std::string>(), Json(), {owner}).status ==
        200);
  CHECK(call("DELETE", provider, Json(), {owner}).status == 204);
  CHECK(call("DELETE", hook_path, Json(), {owner}).status == 204);

  // The widget: settings, the embed snippet, the public configuration; the dashboard and widget files
  const std::string widget = "/v1/apps/" + app + "/widget";
  CHECK(call("GET", widget, Json(), {owner}).status == 200);
  CHECK(call("PUT", widget,
             Json{{"color", "#10b981"}, {"position", "left"}, {"title", "Talk to Acme"},
                  {"prechat", Json::array({Json{{"id", "email"}, {"label", "Your email"}, {"type", "email"},
                                                {"required", true}}})}},
             {owner}).status == 200);
  CHECK(call("PUT", widget, Json{{"color", "blue"}}, {owner}).status == 400);
  CHECK(call("GET", widget, Json(), {publishable}).status == 404);
  CHECK(call("GET", widget + "/embed", Json(), {owner, Header{"Host", "chat.acme.example"}}).status == 200);
  CHECK(call("GET", "/v1/public/widget/" + publishable.value).status == 200);
  CHECK(call("GET", "/v1/public/widget/pk_nothere").status == 404);
  CHECK(call("GET", "/v1/sdk/config", Json(), {publishable}).status == 200);
  Response dashboard = call("GET", "/");
  CHECK(dashboard.status == 200);
  const std::string* dashboard_etag = ResponseHeader(dashboard, "ETag");
  REQUIRE(dashboard_etag != nullptr);
  CHECK(call("GET", "/", Json(), {Header{"If-None-Match", *dashboard_etag}}).status == 304);
  CHECK(call("GET", "/widget.js").status == 200);
  CHECK(call("GET", "/app/dashboard.js").status == 200);
  CHECK(call("GET", "/app/nothere.js").status == 404);

  // Operators, their tokens and the assignment mode
  auto in_hours = [&](int hours) { return FormatTimestamp(h.clock->Now() + std::chrono::hours(hours)); };
  Response grace = call("POST", "/v1/operators",
                        Json{{"name", "Grace Hopper"}, {"email", "grace@acme.example"}, {"app_ids", {app}}}, {owner});
  REQUIRE(grace.status == 201);
  const std::string op_path = "/v1/operators/" + json_of(grace)["id"].get<std::string>();
  CHECK(call("POST", "/v1/operators", Json::array({Json{{"name", "Alan Turing"}, {"app_ids", {app}}}}), {owner})
            .status == 201);
  CHECK(call("POST", "/v1/operators", Json{{"name", 5}}, {owner}).status == 400);
  CHECK(call("GET", "/v1/operators?app_id=" + app + "&status=active&limit=10", Json(), {owner}).status == 200);
  CHECK(call("GET", "/v1/operators?status=paused", Json(), {owner}).status == 400);
  CHECK(call("GET", op_path, Json(), {owner}).status == 200);
  CHECK(call("GET", "/v1/operators/op_nothere", Json(), {owner}).status == 404);
  CHECK(call("PATCH", op_path, Json{{"name", "Grace B. Hopper"}, {"app_ids", {app}}}, {owner}).status == 200);
  CHECK(call("PATCH", op_path, Json{{"status", "paused"}}, {owner}).status == 400);
  Response minted = call("POST", op_path + "/tokens", Json{{"expires_at", in_hours(8)}}, {owner});
  REQUIRE(minted.status == 201);
  const Header operator_token = Bearer(json_of(minted)["token"].get<std::string>());
  CHECK(call("POST", op_path + "/tokens", Json{{"expires_at", in_hours(48)}}, {owner}).status == 400);
  CHECK(call("POST", "/v1/tokens/validate", Json{{"token", json_of(minted)["token"]}}).status == 200);
  CHECK(call("POST", "/v1/tokens/validate", Json{{"token", token}}).status == 200);
  CHECK(call("POST", "/v1/tokens/validate", Json{{"token", "garbage"}}).status == 200);
  CHECK(call("POST", "/v1/tokens/validate", Json::object()).status == 400);
  CHECK(call("GET", "/v1/apps", Json(), {operator_token}).status == 200);
  CHECK(call("POST", conv + "/messages", Json{{"text", "Grace here, on it."}}, {operator_token}).status == 201);
  const std::string assignment = apps + "/assignment";
  CHECK(call("GET", assignment, Json(), {owner}).status == 200);
  CHECK(call("PUT", assignment, Json{{"mode", "round_robin"}}, {owner}).status == 200);
  CHECK(call("PUT", assignment, Json{{"mode", "random"}}, {owner}).status == 400);
  CHECK(call("PUT", assignment, Json{{"mode", "manual"}}, {owner}).status == 200);

  // Knowledge base and bot
  Response kb = call("POST", apps + "/knowledge",
                     Json{{"type", "qa"}, {"question", "How do I reset my password?"},
                          {"answer", "Open Settings, then Security, and choose Reset password."}},
                     {owner});
  REQUIRE(kb.status == 201);
  const std::string kb_path = apps + "/knowledge/" + json_of(kb)["id"].get<std::string>();
  CHECK(call("POST", apps + "/knowledge", Json{{"type", "faq"}, {"content", "x"}}, {owner}).status == 400);
  CHECK(call("GET", apps + "/knowledge?limit=10", Json(), {operator_token}).status == 200);
  CHECK(call("GET", kb_path, Json(), {owner}).status == 200);
  CHECK(call("PUT", kb_path,
             Json{{"type", "qa"}, {"question", "How do I reset my password?"},
                  {"answer", "Settings > Security > Reset password."}},
             {secret})
            .status == 200);
  CHECK(call("GET", apps + "/knowledge/search?q=reset+password&limit=5", Json(), {operator_token}).status == 200);
  CHECK(call("GET", apps + "/knowledge/search?q=the", Json(), {owner}).status == 400);
  CHECK(call("GET", apps + "/bot", Json(), {owner}).status == 200);
  CHECK(call("PUT", apps + "/bot", Json{{"enabled", false}, {"min_score", 0.7}, {"name", "Acme Bot"}}, {owner})
            .status == 200);
  CHECK(call("PUT", apps + "/bot", Json{{"min_score", 1.5}}, {owner}).status == 400);
  CHECK(call("DELETE", kb_path, Json(), {owner}).status == 204);
  CHECK(call("GET", kb_path, Json(), {owner}).status == 404);

  // WebSocket tickets
  CHECK(call("POST", "/v1/ws/ticket", Json(), {owner}).status == 201);
  CHECK(call("POST", "/v1/ws/ticket", Json(), {customer}).status == 201);
  CHECK(call("POST", "/v1/ws/ticket", Json(), {publishable}).status == 403);
  CHECK(call("POST", "/v1/ws/ticket").status == 401);

  // Store failures: the documented 503 shapes.
  h.store->list_messages_error = static_cast<int>(StatusCode::kUnavailable);
  CHECK(call("GET", conv + "/messages", Json(), {owner}, /*allow_5xx=*/true).status == 503);
  h.store->list_messages_error = 0;
  h.store->unwritable = true;
  CHECK(call("GET", "/health", Json(), {}, /*allow_5xx=*/true).status == 503);
  h.store->unwritable = false;

  // Every documented HTTP operation was seen succeeding (the WebSocket upgrade is the network layer's).
  std::set<std::string> missing;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const char* method : kHttpMethods) {
      if (!item.contains(method) || kTransportRoutes.count({Upper(method), NormalizePath(path)}) != 0) continue;
      const std::string id = item[method].value("operationId", "");
      if (live.exercised().count(id) == 0) missing.insert(id);
    }
  }
  std::string names;
  for (const std::string& id : missing) names += " " + id;
  INFO("operations this test never saw succeed (add a call above):" << names);
  CHECK(missing.empty());
}

}  // namespace
}  // namespace libchat::test
