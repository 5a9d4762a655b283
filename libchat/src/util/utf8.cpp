#include "util/utf8.h"

#include <cstdint>
#include <cstring>

namespace libchat::internal {

// Well-formed sequences per Unicode Table 3-7 (equivalently RFC 3629 section 4):
//
//   U+0000..U+007F     00..7F
//   U+0080..U+07FF     C2..DF  80..BF
//   U+0800..U+0FFF     E0      A0..BF  80..BF
//   U+1000..U+CFFF     E1..EC  80..BF  80..BF
//   U+D000..U+D7FF     ED      80..9F  80..BF      (A0..BF would be surrogates)
//   U+E000..U+FFFF     EE..EF  80..BF  80..BF
//   U+10000..U+3FFFF   F0      90..BF  80..BF  80..BF
//   U+40000..U+FFFFF   F1..F3  80..BF  80..BF  80..BF
//   U+100000..U+10FFFF F4      80..8F  80..BF  80..BF
//
// The narrowed second-byte ranges are what rule out overlongs (C0, C1, E0 80..9F,
// F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).
bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const end = p + text.size();
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

  while (p < end) {
    // Fast path: messages are mostly ASCII, so skip 8 bytes per step while no byte
    // has its high bit set. memcpy keeps the load free of alignment assumptions.
    while (end - p >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, p, sizeof chunk);
      if ((chunk & kHighBits) != 0) break;
      p += 8;
    }
    if (p == end) break;

    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }

    int continuation;             // bytes after the lead
    unsigned char lo = 0x80;      // allowed range of the second byte
    unsigned char hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      continuation = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuation = 2;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      continuation = 3;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    } else {
      return false;  // stray continuation byte (80..BF), overlong lead (C0, C1) or F5..FF
    }

    if (end - p <= continuation) return false;  // truncated sequence
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= continuation; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += continuation + 1;
  }
  return true;
}

}  // namespace libchat::internal
