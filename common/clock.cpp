#include "clock.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace kv {

std::int64_t now_ms() {
  if (const char* pinned = std::getenv("KV_NOW")) {
    std::int64_t v = 0;
    auto res = std::from_chars(pinned, pinned + std::strlen(pinned), v);
    if (res.ec == std::errc()) return v;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kv
