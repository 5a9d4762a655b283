// Fuzz target for the WebSocket frame parser (server side, masks required).
// Property: whole and split feeding agree; assembled messages respect the limit;
// text messages are valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/ws/codec.h"

namespace {

using libchat::server::ws::FrameParser;

std::vector<std::string> Run(std::string_view data, std::size_t split, std::uint16_t& close_code) {
  FrameParser parser(1024, /*require_mask=*/true);
  std::vector<std::string> messages;
  for (std::string_view piece : {data.substr(0, split), data.substr(split)}) {
    while (!piece.empty() && !parser.failed()) {
      const std::size_t used = parser.Feed(piece);
      piece.remove_prefix(used);
      while (auto m = parser.Next()) {
        if (m->payload.size() > 1024) std::abort();
        if (m->opcode == libchat::server::ws::Opcode::kText && !libchat::server::ws::IsValidUtf8(m->payload)) {
          std::abort();
        }
        messages.push_back(std::to_string(static_cast<int>(m->opcode)) + ":" + m->payload);
      }
      if (used == 0) break;
    }
  }
  close_code = parser.failed() ? parser.close_code() : 0;
  return messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::uint16_t whole_code = 0;
  std::uint16_t split_code = 0;
  const auto whole = Run(input, input.size(), whole_code);
  const auto split = Run(input, size / 3, split_code);
  if (whole != split || whole_code != split_code) std::abort();
  return 0;
}
