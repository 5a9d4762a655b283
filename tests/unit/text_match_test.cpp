// The knowledge base's text matching (bot/text_match.h): words, stop words, folding, query terms,
// the 0..1 score the bot compares with min_score, and snippet HTML.
#include "bot/text_match.h"

#include <string>
#include <vector>

#include "catch.h"

namespace {

using libchat::internal::FoldWord;
using libchat::internal::IsStopWord;
using libchat::internal::kMaxQueryTerms;
using libchat::internal::MatchScore;
using libchat::internal::QueryTerms;
using libchat::internal::SnippetHtml;
using libchat::internal::TokenizeWords;
using Words = std::vector<std::string>;

TEST_CASE("text match: words are lower-cased runs of letters and digits", "[text_match]") {
  CHECK(TokenizeWords("How do I reset my Password?") == Words{"how", "do", "i", "reset", "my", "password"});
  CHECK(TokenizeWords("e-mail: help@acme.example, 24/7!") ==
        Words{"e", "mail", "help", "acme", "example", "24", "7"});
  CHECK(TokenizeWords("") == Words{});
  CHECK(TokenizeWords(" \t\n.,;!? ") == Words{});
  CHECK(TokenizeWords("version2 x86_64") == Words{"version2", "x86", "64"});
}

TEST_CASE("text match: non-ASCII letters are kept, Latin accents and case folded", "[text_match]") {
  CHECK(TokenizeWords("Café CRÈME brûlée") == Words{"cafe", "creme", "brulee"});
  CHECK(TokenizeWords("Łódź Straße") == Words{"lodz", "straße"});
  // Decomposed accents (e + U+0301) fold like precomposed ones.
  CHECK(TokenizeWords("cafe\xCC\x81") == Words{"cafe"});
  CHECK(TokenizeWords("ПРИВЕТ мир") == Words{"привет", "мир"});
  CHECK(TokenizeWords("ΑΒΓ") == Words{"αβγ"});
  CHECK(TokenizeWords("東京タワー") == Words{"東京タワー"});
}

TEST_CASE("text match: punctuation, symbols and emoji split words", "[text_match]") {
  CHECK(TokenizeWords("hello\xE2\x80\x94world") == Words{"hello", "world"});          // em dash
  CHECK(TokenizeWords("refund\xF0\x9F\x98\x80policy") == Words{"refund", "policy"});  // emoji
  CHECK(TokenizeWords("a\xC2\xA0" "b") == Words{"a", "b"});                           // no-break space
  CHECK(TokenizeWords("price\xE2\x82\xAC" "5") == Words{"price", "5"});               // euro sign
  CHECK(TokenizeWords("\xE3\x80\x8Cquote\xE3\x80\x8D") == Words{"quote"});            // CJK brackets
}

TEST_CASE("text match: invalid UTF-8 separates words and never crashes", "[text_match]") {
  CHECK(TokenizeWords("ab\xFF" "cd") == Words{"ab", "cd"});
  CHECK(TokenizeWords("ab\xC3") == Words{"ab"});            // truncated sequence at the end
  CHECK(TokenizeWords("\xED\xA0\x80" "x") == Words{"x"});   // a surrogate
  CHECK(TokenizeWords("\xC0\xAF" "y") == Words{"y"});       // an overlong '/'
}

TEST_CASE("text match: stop words", "[text_match]") {
  for (const char* word : {"how", "do", "i", "my", "the", "can", "you", "please", "is", "don", "t"}) {
    INFO(word);
    CHECK(IsStopWord(word));
  }
  for (const char* word : {"reset", "password", "refund", "shipping", "invoice"}) {
    INFO(word);
    CHECK_FALSE(IsStopWord(word));
  }
}

TEST_CASE("text match: folding joins plural and verb forms", "[text_match]") {
  CHECK(FoldWord("passwords") == FoldWord("password"));
  CHECK(FoldWord("resets") == FoldWord("reset"));
  CHECK(FoldWord("resetting") == FoldWord("reset"));
  CHECK(FoldWord("policies") == FoldWord("policy"));
  CHECK(FoldWord("tried") == FoldWord("try"));
  CHECK(FoldWord("changes") == FoldWord("change"));
  CHECK(FoldWord("changed") == FoldWord("change"));
  CHECK(FoldWord("changing") == FoldWord("change"));
  CHECK(FoldWord("boxes") == FoldWord("box"));
  CHECK(FoldWord("matches") == FoldWord("match"));
  CHECK(FoldWord("addresses") == FoldWord("address"));
  CHECK(FoldWord("shipped") == FoldWord("ship"));
  CHECK(FoldWord("refunded") == FoldWord("refunds"));
  CHECK(FoldWord("types") == FoldWord("type"));
  CHECK(FoldWord("strings") == FoldWord("string"));
}

TEST_CASE("text match: folding keeps short words and distinct words apart", "[text_match]") {
  CHECK(FoldWord("is") == "is");
  CHECK(FoldWord("bus") == "bus");
  CHECK(FoldWord("need") == "need");
  CHECK(FoldWord("bed") == "bed");
  CHECK(FoldWord("thing") == "thing");
  CHECK(FoldWord("ties") == "tie");
  CHECK(FoldWord("pass") == "pass");
  CHECK(FoldWord("call") == "call");
  CHECK(FoldWord("called") == "call");
  CHECK(FoldWord("refund") != FoldWord("reform"));
  CHECK(FoldWord("cat") != FoldWord("cart"));
  CHECK(FoldWord("") == "");
}

TEST_CASE("text match: query terms drop stop words and duplicates", "[text_match]") {
  CHECK(QueryTerms("How can I reset my password?") == Words{"reset", "password"});
  CHECK(QueryTerms("how do I reset my password") == Words{"reset", "password"});
  CHECK(QueryTerms("Refunds, refund, REFUNDED!") == Words{"refunds"});
  CHECK(QueryTerms("how do I do it?").empty());
  CHECK(QueryTerms("").empty());
  CHECK(QueryTerms("?!").empty());
}

TEST_CASE("text match: at most 32 query terms", "[text_match]") {
  std::string query;
  for (int i = 0; i < 100; ++i) query += "word" + std::to_string(i) + " ";
  const Words terms = QueryTerms(query);
  REQUIRE(terms.size() == kMaxQueryTerms);
  CHECK(terms.front() == "word0");
  CHECK(terms.back() == "word31");
}

TEST_CASE("text match: the score is the share of query terms the text has", "[text_match]") {
  const std::string entry = "How do I reset my password?\nOpen Settings, then Security, then Reset password.";
  CHECK(MatchScore(QueryTerms("how can I reset my password"), entry) == Approx(1.0));
  CHECK(MatchScore(QueryTerms("resetting passwords"), entry) == Approx(1.0));
  CHECK(MatchScore(QueryTerms("reset my email"), entry) == Approx(0.5));
  CHECK(MatchScore(QueryTerms("reset email address"), entry) == Approx(1.0 / 3));
  CHECK(MatchScore(QueryTerms("shipping to Canada"), entry) == Approx(0.0));
  CHECK(MatchScore({}, entry) == 0.0);
  CHECK(MatchScore(QueryTerms("CAFÉ"), "the cafe opens at 9") == Approx(1.0));
}

TEST_CASE("text match: snippets are escaped HTML with marks", "[text_match]") {
  CHECK(SnippetHtml("open \x02Settings\x03 then \x02reset\x03") ==
        "open <mark>Settings</mark> then <mark>reset</mark>");
  CHECK(SnippetHtml("<script>alert('x') & \"y\"</script>") ==
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  CHECK(SnippetHtml("\x02<b>\x03") == "<mark>&lt;b&gt;</mark>");
  // Always balanced: an unclosed mark is closed, a stray end dropped, a repeated start ignored.
  CHECK(SnippetHtml("a \x02" "b") == "a <mark>b</mark>");
  CHECK(SnippetHtml("a\x03 b") == "a b");
  CHECK(SnippetHtml("\x02\x02x\x03\x03") == "<mark>x</mark>");
  CHECK(SnippetHtml("") == "");
}

}  // namespace
