#include "duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace kv {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t n = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), n);
    if (res.ec != std::errc() || n < 0) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(res.ptr - text.data()));
    std::int64_t unit;
    if (text.starts_with("ms")) unit = 1, text.remove_prefix(2);
    else if (text.starts_with("s")) unit = 1000, text.remove_prefix(1);
    else if (text.starts_with("m")) unit = 60'000, text.remove_prefix(1);
    else if (text.starts_with("h")) unit = 3'600'000, text.remove_prefix(1);
    else if (text.starts_with("d")) unit = 86'400'000, text.remove_prefix(1);
    else return std::nullopt;
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    if (n > (kMax - total) / unit) return std::nullopt;  // would overflow
    total += n * unit;
  }
  return std::chrono::milliseconds(total);
}

std::string bad_duration(std::string_view option, std::string_view text, bool positive) {
  return std::string(option) + ": \"" + std::string(text) + "\" is not a " + (positive ? "positive " : "") +
         "duration (" + kDurationSyntax + ")";
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  auto part = [&](std::int64_t unit, const char* suffix) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + suffix;
      ms %= unit;
    }
  };
  part(3'600'000, "h");
  part(60'000, "m");
  part(1000, "s");
  part(1, "ms");
  return out;
}

}  // namespace kv
