#include "bot/text_match.h"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

namespace libchat::internal {

namespace {

// Base letters of U+0100..U+017F (Latin Extended-A), lower-case, accents dropped;
// '?' keeps the letter (the ligatures ĳ and œ).
constexpr std::string_view kLatinExtendedA =
    "aaaaaaccccccccdd"   // U+0100
    "ddeeeeeeeeeegggg"   // U+0110
    "gggghhhhiiiiiiii"   // U+0120
    "ii??jjkkklllllll"   // U+0130
    "lllnnnnnnnnnoooo"   // U+0140
    "oo??rrrrrrssssss"   // U+0150
    "ssttttttuuuuuuuu"   // U+0160
    "uuuuwwyyyzzzzzzs";  // U+0170
static_assert(kLatinExtendedA.size() == 0x80, "one letter per code point of U+0100..U+017F");

// Base letters of U+00E0..U+00FF (Latin-1 lower case); '?' keeps the letter (æ, ð, þ) and ÷ is no letter.
constexpr std::string_view kLatin1Lower = "aaaaaa?ceeeeiiii?nooooo?ouuuuy?y";
static_assert(kLatin1Lower.size() == 0x20, "one letter per code point of U+00E0..U+00FF");

// Decodes one UTF-8 code point at text[*pos] and advances *pos; -1 (advancing one byte) for an invalid sequence.
std::int32_t DecodeUtf8(std::string_view text, std::size_t* pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const std::size_t at = *pos;
  const unsigned char lead = byte(at);
  if (lead < 0x80) {
    *pos = at + 1;
    return lead;
  }
  int length = 0;
  std::int32_t cp = 0;
  std::int32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    *pos = at + 1;
    return -1;
  }
  if (at + static_cast<std::size_t>(length) > text.size()) {
    *pos = at + 1;
    return -1;
  }
  for (int i = 1; i < length; ++i) {
    const unsigned char c = byte(at + static_cast<std::size_t>(i));
    if ((c & 0xC0) != 0x80) {
      *pos = at + 1;
      return -1;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *pos = at + 1;
    return -1;
  }
  *pos = at + static_cast<std::size_t>(length);
  return cp;
}

void AppendUtf8(std::int32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

enum class CharClass { kSeparator, kWord, kIgnored };

// Letters and digits are words; combining accents (U+0300..U+036F) belong to the word but are dropped;
// ASCII punctuation, Latin-1 symbols, general punctuation, symbols and arrows (U+2000..U+2BFF), CJK and
// full-width punctuation, private use, specials and emoji separate words. Other code points count as
// letters: a small table cannot know every script, and treating one too many as a letter only joins words.
CharClass Classify(std::int32_t cp) {
  if (cp < 0) return CharClass::kSeparator;
  if (cp < 0x80) {
    const bool alnum = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    return alnum ? CharClass::kWord : CharClass::kSeparator;
  }
  if (cp < 0xC0) return (cp == 0xAA || cp == 0xB5 || cp == 0xBA) ? CharClass::kWord : CharClass::kSeparator;
  if (cp == 0xD7 || cp == 0xF7) return CharClass::kSeparator;
  if (cp >= 0x300 && cp <= 0x36F) return CharClass::kIgnored;
  if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3000 && cp <= 0x303F) ||
      (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFE10 && cp <= 0xFE1F) || (cp >= 0xFE30 && cp <= 0xFE6F) ||
      cp == 0xFEFF || (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || (cp >= 0xFFF0 && cp <= 0xFFFF)) {
    return CharClass::kSeparator;
  }
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return CharClass::kSeparator;  // emoji, playing cards, symbols
  if (cp >= 0xE0000) return CharClass::kSeparator;                    // tags, variation selectors, private use
  return CharClass::kWord;
}

// Lower case, and for Latin letters without the accent.
void AppendFolded(std::int32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp));
    return;
  }
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) cp += 0x20;  // Latin-1 upper -> lower
  if (cp >= 0xE0 && cp <= 0xFF) {
    const char base = kLatin1Lower[static_cast<std::size_t>(cp - 0xE0)];
    if (base != '?') {
      out->push_back(base);
      return;
    }
  } else if (cp >= 0x100 && cp <= 0x17F) {
    const char base = kLatinExtendedA[static_cast<std::size_t>(cp - 0x100)];
    if (base != '?') {
      out->push_back(base);
      return;
    }
    if (cp == 0x132 || cp == 0x152) ++cp;  // Ĳ -> ĳ, Œ -> œ
  } else if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) {
    cp += 0x20;  // Greek capitals
  } else if (cp >= 0x410 && cp <= 0x42F) {
    cp += 0x20;  // Cyrillic capitals
  } else if (cp >= 0x400 && cp <= 0x40F) {
    cp += 0x50;  // Ѐ..Џ
  }
  AppendUtf8(cp, out);
}

bool EndsWith(const std::string& word, std::string_view suffix) {
  return word.size() >= suffix.size() && word.compare(word.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsAsciiConsonant(char c) {
  return c >= 'a' && c <= 'z' && c != 'a' && c != 'e' && c != 'i' && c != 'o' && c != 'u';
}

// "shipp" -> "ship" (not "fall" -> "fal", "pass" -> "pas", "buzz" -> "buz").
void Undouble(std::string* word) {
  const std::size_t n = word->size();
  if (n >= 4 && (*word)[n - 1] == (*word)[n - 2] && IsAsciiConsonant((*word)[n - 1]) && (*word)[n - 1] != 'l' &&
      (*word)[n - 1] != 's' && (*word)[n - 1] != 'z') {
    word->pop_back();
  }
}

}  // namespace

std::vector<std::string> TokenizeWords(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::int32_t cp = DecodeUtf8(text, &pos);
    switch (Classify(cp)) {
      case CharClass::kWord:
        AppendFolded(cp, &current);
        break;
      case CharClass::kIgnored:
        break;
      case CharClass::kSeparator:
        if (!current.empty()) words.push_back(std::move(current));
        current.clear();
        break;
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

bool IsStopWord(std::string_view word) {
  // Function-local and immutable: built once, thread-safely, on first use.
  static const std::unordered_set<std::string_view> kStopWords{
      "a",      "about", "after",  "again",  "all",    "also",   "am",     "an",      "and",    "any",
      "are",    "aren",  "as",     "at",     "be",     "been",   "being",  "both",    "but",    "by",
      "can",    "cannot", "could", "couldn", "d",      "did",    "didn",   "do",      "does",   "doesn",
      "doing",  "don",   "each",   "for",    "from",   "had",    "has",    "have",    "having", "he",
      "hello",  "her",   "here",   "hers",   "hey",    "hi",     "him",    "his",     "how",    "i",
      "if",     "in",    "into",   "is",     "isn",    "it",     "its",    "just",    "ll",     "m",
      "may",    "me",    "might",  "more",   "most",   "must",   "my",     "myself",  "no",     "nor",
      "not",    "now",   "of",     "off",    "on",     "once",   "only",   "or",      "other",  "our",
      "ours",   "out",   "over",   "own",    "please", "re",     "s",      "same",    "shall",  "she",
      "should", "so",    "some",   "such",   "t",      "than",   "thank",  "thanks",  "that",   "the",
      "their",  "them",  "then",   "there",  "these",  "they",   "this",   "those",   "to",     "too",
      "up",     "us",    "ve",     "very",   "was",    "wasn",   "we",     "were",    "what",   "when",
      "where",  "which", "while",  "who",    "whom",   "why",    "will",   "with",    "won",    "would",
      "wouldn", "you",   "your",   "yours",  "yourself",
  };
  return kStopWords.count(word) > 0;
}

std::string FoldWord(std::string_view word) {
  std::string w(word);
  // Each round removes one ending; a word can carry two ("updates" -> "update" -> "updat").
  for (int round = 0; round < 4; ++round) {
    const std::size_t n = w.size();
    if ((EndsWith(w, "ies") || EndsWith(w, "ied")) && n - 2 >= 3) {
      w.resize(n - 3);
      w.push_back('y');
    } else if (EndsWith(w, "ing") && n - 3 >= 3) {
      w.resize(n - 3);
      Undouble(&w);
    } else if (EndsWith(w, "ed") && n - 2 >= 3) {
      w.resize(n - 2);
      Undouble(&w);
    } else if (EndsWith(w, "es") && n - 2 >= 3 &&
               (EndsWith(w, "ses") || EndsWith(w, "xes") || EndsWith(w, "zes") || EndsWith(w, "ches") ||
                EndsWith(w, "shes"))) {
      w.resize(n - 2);
    } else if (EndsWith(w, "s") && !EndsWith(w, "ss") && n - 1 >= 3) {
      w.resize(n - 1);
    } else if (EndsWith(w, "e") && n - 1 >= 3) {
      w.resize(n - 1);
    } else {
      break;
    }
  }
  return w;
}

std::vector<std::string> QueryTerms(std::string_view query) {
  std::vector<std::string> terms;
  std::unordered_set<std::string> folded;
  for (std::string& word : TokenizeWords(query)) {
    if (terms.size() >= kMaxQueryTerms) break;
    if (IsStopWord(word)) continue;
    if (!folded.insert(FoldWord(word)).second) continue;
    terms.push_back(std::move(word));
  }
  return terms;
}

double MatchScore(const std::vector<std::string>& terms, std::string_view text) {
  if (terms.empty()) return 0;
  std::unordered_set<std::string> words;
  for (const std::string& word : TokenizeWords(text)) words.insert(FoldWord(word));
  std::size_t matched = 0;
  for (const std::string& term : terms) matched += words.count(FoldWord(term));
  return static_cast<double>(matched) / static_cast<double>(terms.size());
}

std::string SnippetHtml(std::string_view snippet) {
  std::string out;
  out.reserve(snippet.size() + 32);
  bool open = false;
  for (char c : snippet) {
    switch (c) {
      case '\x02':
        if (!open) out += "<mark>";
        open = true;
        break;
      case '\x03':
        if (open) out += "</mark>";
        open = false;
        break;
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  if (open) out += "</mark>";
  return out;
}

}  // namespace libchat::internal
