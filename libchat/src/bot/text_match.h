// Text matching for the knowledge base: how a question becomes search terms,
// how an entry is scored against them (0..1, what the bot's min_score compares)
// and how the store's snippet becomes HTML. Pure functions, no I/O.
//
// Words: runs of letters and digits. ASCII is lower-cased; common Latin,
// Greek and Cyrillic letters are lower-cased and Latin accents dropped ("Café"
// -> "cafe"), matching the store's case- and accent-insensitive search; other
// non-ASCII letters are kept as they are. Punctuation, symbols and emoji split words.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace libchat::internal {

// Most search terms taken from one query; the rest of a long question is ignored.
constexpr std::size_t kMaxQueryTerms = 32;

// The words of `text` in order, normalized as described above. Invalid UTF-8
// bytes separate words.
std::vector<std::string> TokenizeWords(std::string_view text);

// True for a normalized word of the small English stop-word list ("how", "do",
// "i", "my", ...), including fragments of contractions ("don", "t").
bool IsStopWord(std::string_view word);

// The word with simple plural and verb endings removed, so that "resets",
// "resetting" and "reset" (or "policies" and "policy") fold to one form:
// "ies"/"ied" -> "y", "ing", "ed" (then a doubled final consonant is undoubled),
// "es" after s/x/z/ch/sh, "s" (not "ss"), and a final "e"; repeated while a rule
// applies, never leaving fewer than 3 characters.
std::string FoldWord(std::string_view word);

// The search terms of a query: its words without stop words, one per folded
// form (the first spelling kept), at most kMaxQueryTerms. Empty when the query
// has no searchable word.
std::vector<std::string> QueryTerms(std::string_view query);

// The share (0..1) of `terms` for which `text` has a word with the same folded
// form. 0 when `terms` is empty.
double MatchScore(const std::vector<std::string>& terms, std::string_view text);

// The store's plain-text snippet (matches between \x02 and \x03) as HTML:
// escaped, with the matches wrapped in <mark>…</mark>. An unclosed mark is
// closed at the end, a stray end marker dropped, so the result is always balanced.
std::string SnippetHtml(std::string_view snippet);

}  // namespace libchat::internal
