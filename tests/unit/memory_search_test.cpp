// The in-memory Store's search pieces (storage/memory_search.h): what counts as a word, how
// words are folded and stemmed, BM25's shape, and snippets. The search behaviour both stores
// share is in store_team_contract_test.cpp.
#include "storage/memory_search.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "catch.h"

namespace {

using namespace libchat::internal::memory_search;  // NOLINT: test brevity

std::vector<std::string> Terms(std::string_view text) {
  std::vector<std::string> terms;
  for (const Token& token : Tokenize(text)) terms.push_back(token.term);
  return terms;
}

TEST_CASE("memory search: words are ASCII letters and digits and non-ASCII characters", "[memory_search]") {
  CHECK(Terms("Hello, WORLD! 42 times") == std::vector<std::string>{"hello", "world", "42", "time"});
  CHECK(Terms("Café Ångström naïve") == std::vector<std::string>{"cafe", "angstrom", "naive"});
  CHECK(Terms("Straße Æsir") == std::vector<std::string>{"straße", "æsir"});
  CHECK(Terms("日本語 テキスト") == std::vector<std::string>{"日本語", "テキスト"});
  // Punctuation outside ASCII separates words too.
  CHECK(Terms("refund\xE2\x80\x94policy \xC2\xABquoted\xC2\xBB 3\xC3\x97" "4") ==
        std::vector<std::string>{"refund", "polici", "quot", "3", "4"});
  // Truncated or stray UTF-8 never reads past the text.
  CHECK(Terms("abc\xC3").size() == 1);
  CHECK(Terms("\xE2\x80").size() == 1);
  CHECK(Terms("\x80x").size() == 1);
  CHECK(Terms("").empty());
  CHECK(Terms(" ,;!? ").empty());

  const std::vector<Token> tokens = Tokenize("  Refunds, please");
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0].begin == 2);
  CHECK(tokens[0].end == 9);
  CHECK(tokens[1].begin == 11);
  CHECK(tokens[1].end == 17);
}

TEST_CASE("memory search: inflections stem to one term", "[memory_search]") {
  for (const char* word : {"refund", "refunds", "refunded", "refunding"}) CHECK(Stem(word) == "refund");
  CHECK(Stem("policy") == Stem("policies"));
  CHECK(Stem("ship") == Stem("shipping"));
  CHECK(Stem("ship") == Stem("ships"));
  CHECK(Stem("call") == Stem("calling"));
  CHECK(Stem("class") == "class");
  CHECK(Stem("agreed") == "agree");
  // Short words and words with digits or non-ASCII letters are left alone.
  CHECK(Stem("is") == "is");
  CHECK(Stem("bed") == "bed");
  CHECK(Stem("mp3s") == "mp3s");
  CHECK(Stem("cafés") == "cafés");
}

TEST_CASE("memory search: BM25 grows with frequency and rarity, shrinks with length", "[memory_search]") {
  CHECK(Bm25(2, 10, 10, 100, 5) > Bm25(1, 10, 10, 100, 5));
  CHECK(Bm25(1, 10, 10, 100, 2) > Bm25(1, 10, 10, 100, 20));
  CHECK(Bm25(1, 5, 10, 100, 5) > Bm25(1, 20, 10, 100, 5));
  // A word in most documents still scores, barely.
  CHECK(Bm25(1, 10, 10, 10, 9) > 0);
  CHECK(Bm25(1, 10, 10, 10, 9) < 1e-5);
}

TEST_CASE("memory search: snippets mark matches in a window around the first one", "[memory_search]") {
  const std::unordered_set<std::string> refund = {"refund"};
  std::string text = "We give refunds, gladly.";
  CHECK(Snippet(text, Tokenize(text), refund, 24) == "We give \x02refunds\x03, gladly.");

  text.clear();
  for (int i = 0; i < 40; ++i) text += "w" + std::to_string(i) + " ";
  text += "Refund";
  // Near the end: the window still holds max_tokens words, ending with the text.
  CHECK(Snippet(text, Tokenize(text), refund, 5) == "\xE2\x80\xA6w36 w37 w38 w39 \x02Refund\x03");
  // No match: the start of the text.
  CHECK(Snippet(text, Tokenize(text), {"zzz"}, 3) == "w0 w1 w2\xE2\x80\xA6");
  CHECK(Snippet("", {}, refund, 24).empty());
}

}  // namespace
