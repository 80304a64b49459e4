#include "number_text.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace kv {

void append_go_float(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (v == 0) {  // Prometheus writes negative zero as "0" too
    out += '0';
    return;
  }
  // Both notations print the shortest digits that read back as v (as Go
  // does); Go picks the exponent form by the decimal exponent alone.
  char buf[32];
  char* end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific).ptr;
  const char* e = buf;
  while (*e != 'e') ++e;
  int exponent = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exponent);
  if (exponent < -4 || exponent >= 6) {
    out.append(buf, end);  // "1e+06", "1.5e-05": Go's form too
    return;
  }
  end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed).ptr;
  out.append(buf, end);
}

void append_openmetrics_float(std::string& out, double v) {
  std::size_t at = out.size();
  append_go_float(out, v);
  if (!std::isfinite(v)) return;
  if (out.find_first_of(".e", at) == std::string::npos) out += ".0";
}

std::optional<double> parse_bucket_bound(std::string_view text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  // JSON's number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::size_t i = 0, n = text.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i;
    return i > start;
  };
  if (i < n && text[i] == '-') ++i;
  if (i < n && text[i] == '0') ++i;
  else if (!digits()) return std::nullopt;
  if (i < n && text[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return std::nullopt;
  }
  if (i != n) return std::nullopt;
  double v;
  auto res = std::from_chars(text.data(), text.data() + n, v);
  if (res.ec != std::errc() || res.ptr != text.data() + n || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace kv
