#include "storage/memory_search.h"

#include <algorithm>
#include <cmath>

namespace libchat::internal::memory_search {
namespace {

// U+00C0..U+00FF, indexed by the second byte of their UTF-8 form (0xC3 0x80..0xBF): the base
// letter of an accented letter, '.' for a letter kept as it is (lower-cased: Æ Ð Þ ß), ' ' for
// the two symbols of the block (× ÷), which separate words.
constexpr char kLatin1Fold[] =
    "aaaaaa.ceeeeiiii"
    ".nooooo ouuuuy.."
    "aaaaaa.ceeeeiiii"
    ".nooooo ouuuuy.y";

constexpr std::size_t kMinStem = 3;

bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Porter's notion of a vowel: a e i o u, and y after a consonant.
bool IsVowel(const std::string& w, std::size_t i) {
  switch (w[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u':
      return true;
    case 'y':
      return i > 0 && !IsVowel(w, i - 1);
    default:
      return false;
  }
}

bool HasVowel(const std::string& w, std::size_t end) {
  for (std::size_t i = 0; i < end; ++i) {
    if (IsVowel(w, i)) return true;
  }
  return false;
}

bool EndsWith(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() && std::string_view(w).substr(w.size() - suffix.size()) == suffix;
}

// Whether the UTF-8 sequence at text[i] (of `len` bytes) is punctuation or a space that
// separates words: U+0080..U+00BF (C1 controls, no-break space, « » ¿ ...) and
// U+2000..U+207F (dashes, curly quotes, ellipsis, ...).
bool IsSeparator(std::string_view text, std::size_t i, std::size_t len) {
  if (len < 2) return false;
  const auto lead = static_cast<unsigned char>(text[i]);
  const auto second = static_cast<unsigned char>(text[i + 1]);
  if (lead == 0xC2) return true;
  return lead == 0xE2 && len == 3 && (second == 0x80 || second == 0x81);
}

}  // namespace

std::string Stem(std::string w) {
  // Only plain lower-case ASCII words have English endings worth stripping.
  for (char c : w) {
    if (c < 'a' || c > 'z') return w;
  }
  if (EndsWith(w, "sses")) {
    w.resize(w.size() - 2);
  } else if (EndsWith(w, "ies")) {
    if (w.size() - 2 >= kMinStem) w.resize(w.size() - 2);  // "policies" -> "polici"
  } else if (!EndsWith(w, "ss") && EndsWith(w, "s") && w.size() - 1 >= kMinStem) {
    w.pop_back();
  }
  bool stripped = false;
  if (EndsWith(w, "eed")) {
    if (w.size() > 4) w.pop_back();  // "agreed" -> "agree"
  } else if (EndsWith(w, "ed") && w.size() - 2 >= kMinStem && HasVowel(w, w.size() - 2)) {
    w.resize(w.size() - 2);
    stripped = true;
  } else if (EndsWith(w, "ing") && w.size() - 3 >= kMinStem && HasVowel(w, w.size() - 3)) {
    w.resize(w.size() - 3);
    stripped = true;
  }
  if (stripped) {
    // "shipping" -> "shipp" -> "ship", but "calling" -> "call".
    const std::size_t n = w.size();
    const char last = w[n - 1];
    if (n - 1 >= kMinStem && last == w[n - 2] && !IsVowel(w, n - 1) && last != 'l' && last != 's' && last != 'z') {
      w.pop_back();
    }
  }
  // "policy" -> "polici", to meet "policies".
  if (w.size() >= kMinStem && w.back() == 'y' && HasVowel(w, w.size() - 1)) w.back() = 'i';
  return w;
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::string word;
  std::size_t begin = 0;
  bool in_word = false;
  auto start = [&](std::size_t at) {
    if (!in_word) {
      begin = at;
      in_word = true;
    }
  };
  auto flush = [&](std::size_t end) {
    if (!in_word) return;
    tokens.push_back(Token{begin, end, Stem(std::move(word))});
    word.clear();
    in_word = false;
  };

  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (IsAsciiAlnum(c)) {
        start(i);
        word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
      } else {
        flush(i);
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence, its length from the lead byte (a stray continuation byte is one).
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    len = std::min(len, text.size() - i);
    if (IsSeparator(text, i, len)) {
      flush(i);
      i += len;
      continue;
    }
    if (c == 0xC3 && len == 2) {
      const auto second = static_cast<unsigned char>(text[i + 1]);
      if (second >= 0x80 && second <= 0xBF) {
        const char fold = kLatin1Fold[second - 0x80];
        if (fold == ' ') {
          flush(i);
        } else {
          start(i);
          if (fold != '.') {
            word += fold;
          } else {
            word += static_cast<char>(0xC3);
            // Upper case (0x80..0x9E) is 0x20 below its lower case; ß (0x9F) has none.
            word += static_cast<char>(second < 0x9F ? second + 0x20 : second);
          }
        }
        i += 2;
        continue;
      }
    }
    start(i);
    word.append(text.substr(i, len));
    i += len;
  }
  flush(text.size());
  return tokens;
}

double Bm25(double weighted_tf, double doc_tokens, double avg_doc_tokens, std::int64_t docs,
            std::int64_t docs_with_term) {
  constexpr double kK1 = 1.2;
  constexpr double kB = 0.75;
  double idf = std::log((static_cast<double>(docs - docs_with_term) + 0.5) /
                        (static_cast<double>(docs_with_term) + 0.5));
  if (idf <= 0) idf = 1e-6;
  const double length_ratio = avg_doc_tokens > 0 ? doc_tokens / avg_doc_tokens : 1;
  return idf * (weighted_tf * (kK1 + 1)) / (weighted_tf + kK1 * (1 - kB + kB * length_ratio));
}

std::string Snippet(std::string_view text, const std::vector<Token>& tokens,
                    const std::unordered_set<std::string>& terms, int max_tokens) {
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // …
  // Words shown before the first match, for context.
  constexpr std::size_t kLeadIn = 3;
  if (tokens.empty()) return std::string(text);
  const std::size_t n = tokens.size();
  const std::size_t window = static_cast<std::size_t>(std::max(max_tokens, 1));
  std::size_t first = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (terms.count(tokens[i].term)) {
      first = i;
      break;
    }
  }
  std::size_t from = first > kLeadIn ? first - kLeadIn : 0;
  // A match near the end still gets a full window.
  if (n <= window) {
    from = 0;
  } else if (from + window > n) {
    from = n - window;
  }
  const std::size_t to = std::min(n, from + window);

  std::string out;
  std::size_t pos = 0;
  if (from > 0) {
    out += kEllipsis;
    pos = tokens[from].begin;
  }
  for (std::size_t i = from; i < to; ++i) {
    const Token& token = tokens[i];
    out.append(text.substr(pos, token.begin - pos));
    const std::string_view word = text.substr(token.begin, token.end - token.begin);
    if (terms.count(token.term)) {
      out += '\x02';
      out.append(word);
      out += '\x03';
    } else {
      out.append(word);
    }
    pos = token.end;
  }
  if (to < n) {
    out += kEllipsis;
  } else {
    out.append(text.substr(pos));
  }
  return out;
}

}  // namespace libchat::internal::memory_search
