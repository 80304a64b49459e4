#include "kv-rulesgen/kubevirt_version.hpp"

#include <charconv>

namespace kv::rulesgen {

namespace {

// Reads a decimal number without sign or leading zeros (except "0") from
// the front of `text`.
std::optional<int> take_number(std::string_view& text) {
  std::size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  if (n == 0 || n > 6 || (n > 1 && text[0] == '0')) return std::nullopt;
  int value = 0;
  std::from_chars(text.data(), text.data() + n, value);
  text.remove_prefix(n);
  return value;
}

std::optional<KubevirtVersion> take_major_minor(std::string_view& text) {
  auto major = take_number(text);
  if (!major || text.empty() || text[0] != '.') return std::nullopt;
  text.remove_prefix(1);
  auto minor = take_number(text);
  if (!minor) return std::nullopt;
  return KubevirtVersion{*major, *minor};
}

}  // namespace

std::optional<KubevirtVersion> parse_release(std::string_view text) {
  if (!text.starts_with('v')) return std::nullopt;
  text.remove_prefix(1);
  auto v = take_major_minor(text);
  if (!v || !text.empty()) return std::nullopt;
  return v;
}

std::optional<KubevirtVersion> parse_user_version(std::string_view text) {
  if (text.starts_with('v')) text.remove_prefix(1);
  auto v = take_major_minor(text);
  if (!v) return std::nullopt;
  if (text.empty()) return v;
  if (text[0] != '.') return std::nullopt;
  text.remove_prefix(1);
  if (!take_number(text)) return std::nullopt;
  if (text.empty()) return v;
  // A pre-release or build suffix: -rc.1, +build
  if (text[0] != '-' && text[0] != '+') return std::nullopt;
  if (text.size() == 1) return std::nullopt;
  for (char c : text.substr(1))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
          c == '-' || c == '+'))
      return std::nullopt;
  return v;
}

std::string to_string(KubevirtVersion v) {
  return "v" + std::to_string(v.major) + "." + std::to_string(v.minor);
}

}  // namespace kv::rulesgen
