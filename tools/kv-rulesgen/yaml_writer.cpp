#include "kv-rulesgen/yaml_writer.hpp"

#include <array>
#include <cstdio>

namespace kv::rulesgen {

namespace {

bool is_duration(std::string_view s) {
  // Prometheus durations such as 10m or 1h30m: plain in YAML, and the
  // common way of writing `for`.
  std::size_t i = 0;
  if (s.empty()) return false;
  while (i < s.size()) {
    std::size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits || i == s.size()) return false;
    if (s.substr(i).starts_with("ms")) i += 2;
    else if (std::string_view("smhdwy").find(s[i]) != std::string_view::npos) ++i;
    else return false;
  }
  return true;
}

bool is_reserved_word(std::string_view s) {
  static constexpr std::array<std::string_view, 11> words = {
      "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ""};
  std::string lower;
  for (char c : s) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (auto w : words)
    if (lower == w) return true;
  return lower == ".inf" || lower == "-.inf" || lower == "+.inf" || lower == ".nan";
}

// A literal block scalar keeps every character as it is, provided the
// first line does not start with a space, no line ends in spaces, and the
// text neither ends in a newline nor holds control characters.
bool literal_block_ok(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.back() == '\n')
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\n') return false;
    if (c == 0x7f) return false;
    if ((c == ' ' || c == '\t') && (i + 1 == s.size() || s[i + 1] == '\n')) return false;
  }
  return true;
}

}  // namespace

bool plain_scalar_ok(std::string_view s) {
  if (s.empty() || is_reserved_word(s)) return false;
  if (std::string_view(" -?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos)
    return false;
  if (s.back() == ' ' || s.back() == ':') return false;
  if ((s.front() >= '0' && s.front() <= '9') || s.front() == '+' || s.front() == '.')
    return is_duration(s);
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos)
    return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

void YamlWriter::value(int indent, std::string_view v) {
  if (plain_scalar_ok(v)) {
    out_ += ' ';
    out_ += v;
    out_ += '\n';
  } else if (v.find('\n') != std::string_view::npos && literal_block_ok(v)) {
    out_ += " |-\n";
    std::string pad(static_cast<std::size_t>(indent + 2), ' ');
    for (std::size_t start = 0; start <= v.size();) {
      std::size_t end = v.find('\n', start);
      if (end == std::string_view::npos) end = v.size();
      std::string_view line = v.substr(start, end - start);
      if (!line.empty()) out_ += pad;
      out_ += line;
      out_ += '\n';
      start = end + 1;
    }
  } else {
    out_ += ' ';
    out_ += double_quoted(v);
    out_ += '\n';
  }
}

void YamlWriter::key_value(int indent, std::string_view key, std::string_view v) {
  out_.append(static_cast<std::size_t>(indent), ' ');
  out_ += plain_scalar_ok(key) ? std::string(key) : double_quoted(key);
  out_ += ':';
  value(indent, v);
}

void YamlWriter::key(int indent, std::string_view key) {
  out_.append(static_cast<std::size_t>(indent), ' ');
  out_ += plain_scalar_ok(key) ? std::string(key) : double_quoted(key);
  out_ += ":\n";
}

void YamlWriter::item_key_value(int indent, std::string_view key, std::string_view v) {
  out_.append(static_cast<std::size_t>(indent), ' ');
  out_ += "- ";
  out_ += plain_scalar_ok(key) ? std::string(key) : double_quoted(key);
  out_ += ':';
  value(indent + 2, v);
}

void YamlWriter::comment(std::string_view text) {
  out_ += "# ";
  out_ += text;
  out_ += '\n';
}

}  // namespace kv::rulesgen
