// Full-text search pieces of the in-memory Store's knowledge base: a tokenizer,
// a crude Porter-like stemmer, Okapi BM25 and snippets. They approximate the
// SQLite store's FTS5 index (tokenize='porter unicode61 remove_diacritics 2',
// bm25 with column weights 3/1/1), so that both stores order clear cases alike;
// exact scores differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace libchat::internal::memory_search {

// A word of a text: its bytes [begin, end) in the original text, and its search
// term (folded and stemmed).
struct Token {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string term;
};

// Words are runs of ASCII letters and digits and of non-ASCII UTF-8 characters;
// anything else separates them. Terms are lower-cased, Latin-1 accented letters
// folded to their base letter ("Café" -> "cafe"), then stemmed.
std::vector<Token> Tokenize(std::string_view text);

// Strips common English inflections: "refunds", "refunded", "refunding" ->
// "refund", "policies" / "policy" -> "polici". Never below 3 characters.
std::string Stem(std::string word);

// Column weights of a knowledge entry's question, answer and content, as the
// SQLite store gives bm25().
inline constexpr double kQuestionWeight = 3;
inline constexpr double kAnswerWeight = 1;
inline constexpr double kContentWeight = 1;

// Okapi BM25 of one term in one document (k1 = 1.2, b = 0.75), as FTS5 computes
// it: idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6.
//   weighted_tf: the term's weighted frequency in the document
//   doc_tokens / avg_doc_tokens: the document's length and the corpus average
//   docs: N, docs_with_term: n
double Bm25(double weighted_tf, double doc_tokens, double avg_doc_tokens, std::int64_t docs,
            std::int64_t docs_with_term);

// About `max_tokens` words of `text` starting shortly before its first token
// whose term is in `terms`, each matching word wrapped in \x02 ... \x03, with
// "…" where text was cut. `tokens` is Tokenize(text).
std::string Snippet(std::string_view text, const std::vector<Token>& tokens,
                    const std::unordered_set<std::string>& terms, int max_tokens);

}  // namespace libchat::internal::memory_search
