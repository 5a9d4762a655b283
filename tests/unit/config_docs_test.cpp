// Keeps docs/configuration.md complete: every environment variable and flag that libchat-server parses must be
// documented there (a variable next to its flag, in the same table row), and the page must not name a CHAT_*
// variable the server does not read. The names come from the server itself at test time: from ConfigHelpText()
// (which is generated from the table LoadConfig applies) and from the string literals of server/config.cpp, so
// that a variable read outside that table (CHAT_LLM_API_KEY) is covered too.
#include <cstddef>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "catch.h"
#include "libchat/server/config.h"

#ifndef LIBCHAT_SOURCE_DIR
#error "LIBCHAT_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

namespace libchat::test {
namespace {

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(LIBCHAT_SOURCE_DIR) + "/" + relative, std::ios::binary);
  INFO("reading " << relative);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::set<std::string> Matches(const std::string& text, const std::regex& pattern, std::size_t group = 0) {
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it) {
    out.insert((*it)[static_cast<int>(group)].str());
  }
  return out;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// True when `name` occurs in `text` as a whole name: "--db" does not count inside "--db-sync".
bool ContainsName(const std::string& text, const std::string& name) {
  for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    const bool starts = at == 0 || !IsNameChar(text[at - 1]);
    const bool ends = at + name.size() == text.size() || !IsNameChar(text[at + name.size()]);
    if (starts && ends) return true;
  }
  return false;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The (flag, variable) pairs of the help text: "  --listen VALUE   host:port ...  [CHAT_LISTEN]".
std::vector<std::pair<std::string, std::string>> HelpPairs(const std::string& help) {
  static const std::regex kLine(R"(^\s+(--[a-z][a-z0-9-]*) VALUE\b.*\[(CHAT_[A-Z0-9_]+)\]\s*$)");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& line : Lines(help)) {
    std::smatch m;
    if (std::regex_match(line, m, kLine)) pairs.emplace_back(m[1].str(), m[2].str());
  }
  return pairs;
}

TEST_CASE("docs/configuration.md documents every variable and flag libchat-server parses", "[docs]") {
  const std::string docs = ReadSourceFile("docs/configuration.md");
  const std::string help = server::ConfigHelpText();
  const std::string source = ReadSourceFile("server/config.cpp");

  const std::regex env_name(R"(CHAT_[A-Z0-9_]*[A-Z0-9])");
  const std::regex flag_name(R"((^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*[a-z0-9]))");
  const std::regex env_literal(R"lit("(CHAT_[A-Z0-9_]*[A-Z0-9])")lit");
  const std::regex flag_literal(R"lit("(--[a-z][a-z0-9-]*[a-z0-9])")lit");

  std::set<std::string> variables = Matches(help, env_name);
  std::set<std::string> flags = Matches(help, flag_name, 2);
  for (const std::string& v : Matches(source, env_literal, 1)) variables.insert(v);
  for (const std::string& f : Matches(source, flag_literal, 1)) flags.insert(f);

  // The extraction itself must keep working: an empty set would make the checks below pass vacuously.
  REQUIRE(variables.size() >= 30);
  REQUIRE(flags.size() >= 30);
  REQUIRE(variables.count("CHAT_DB") == 1);
  REQUIRE(variables.count("CHAT_LLM_API_KEY") == 1);
  REQUIRE(flags.count("--db") == 1);
  REQUIRE(flags.count("--help") == 1);

  SECTION("every environment variable is documented") {
    for (const std::string& v : variables) {
      INFO(v << " is parsed by server/config.cpp but missing from docs/configuration.md");
      CHECK(ContainsName(docs, v));
    }
  }

  SECTION("every flag is documented") {
    for (const std::string& f : flags) {
      INFO(f << " is parsed by server/config.cpp but missing from docs/configuration.md");
      CHECK(ContainsName(docs, f));
    }
  }

  SECTION("each variable is documented in one row with its flag") {
    const std::vector<std::pair<std::string, std::string>> pairs = HelpPairs(help);
    REQUIRE(pairs.size() >= 30);
    const std::vector<std::string> rows = Lines(docs);
    for (const auto& [flag, variable] : pairs) {
      bool found = false;
      for (const std::string& row : rows) {
        if (row.rfind("|", 0) == 0 && ContainsName(row, "`" + variable + "`") && ContainsName(row, "`" + flag + "`")) {
          found = true;
          break;
        }
      }
      INFO("docs/configuration.md has no table row with both `" << variable << "` and `" << flag << "`");
      CHECK(found);
    }
  }

  SECTION("the page names no variable the server does not read") {
    for (const std::string& v : Matches(docs, env_name)) {
      INFO(v << " is documented in docs/configuration.md but libchat-server does not read it");
      CHECK(variables.count(v) == 1);
    }
  }
}

}  // namespace
}  // namespace libchat::test
