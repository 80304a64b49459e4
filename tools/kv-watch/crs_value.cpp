#include "kv-watch/crs_value.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <climits>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>

namespace kv::watch::crs {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Go's math.Pow10: products and quotients of exact table entries, which is
// what makes "0.3" come out as 0.30000000000000004 in kube-state-metrics.
double go_pow10(int n) {
  static constexpr double tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10,
                                   1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
                                   1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31};
  static constexpr double pos32[] = {1e0, 1e32, 1e64, 1e96, 1e128, 1e160, 1e192, 1e224, 1e256, 1e288};
  static constexpr double neg32[] = {1e-0,   1e-32,  1e-64,  1e-96,  1e-128,
                                     1e-160, 1e-192, 1e-224, 1e-256, 1e-288, 1e-320};
  if (n >= 0 && n <= 308) return pos32[n / 32] * tab[n % 32];
  if (n < 0 && n >= -323) return neg32[-n / 32] / tab[-n % 32];
  return n > 0 ? HUGE_VAL : 0.0;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// RFC 3339 as Go's time.Parse(time.RFC3339, s): whole seconds since the
// epoch and nanoseconds.
std::optional<KubeTime> parse_rfc3339(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int Y, M, D, h, m, sec;
  if (s.size() < 20 || !digits(0, 4, Y) || s[4] != '-' || !digits(5, 2, M) || s[7] != '-' ||
      !digits(8, 2, D) || s[10] != 'T' || !digits(11, 2, h) || s[13] != ':' || !digits(14, 2, m) ||
      s[16] != ':' || !digits(17, 2, sec))
    return std::nullopt;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 59) return std::nullopt;
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
  if (D > month_days[M - 1] || (M == 2 && D == 29 && !leap)) return std::nullopt;
  std::size_t pos = 19;
  std::int32_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (pos - start < 9) nanos = nanos * 10 + (s[pos] - '0');  // Go drops digits past nanoseconds
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (std::size_t n = pos - start; n < 9; ++n) nanos *= 10;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return KubeTime{days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - offset, nanos};
}

// strconv.ParseFloat: decimal or hex-with-exponent floats, inf, infinity
// and nan in any case with an optional sign; nothing around them.
std::optional<double> go_parse_float(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view body = s;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string word = lower_ascii(body);
  if (word == "inf" || word == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (word == "nan") return std::nan("");
  bool hex = word.size() > 2 && word[0] == '0' && word[1] == 'x';
  if (hex && word.find('p') == std::string::npos) return std::nullopt;  // Go needs the p exponent
  for (char c : word)
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'p' || c == 'x' ||
          c == '+' || c == '-' || c == '_'))
      return std::nullopt;
  // Go allows "_" between digits ("1_000").
  std::string text;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      bool between = i > 0 && i + 1 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i - 1])) &&
                     std::isxdigit(static_cast<unsigned char>(s[i + 1]));
      if (!between) return std::nullopt;
      continue;
    }
    text += s[i];
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

bool is_null(element e) { return e.type() == element_type::NULL_VALUE; }

ValuePath ValuePath::compile(const std::vector<std::string>& segments) {
  ValuePath p;
  for (const auto& s : segments) {
    PathStep step;
    step.text = s;
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
      auto eq = s.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("invalid list lookup: " + s);
      step.kind = PathStep::Kind::list_filter;
      step.filter_key = s.substr(1, eq - 1);
      step.filter_value = s.substr(eq + 1, s.size() - eq - 2);
      step.filter_number = string_to_float64(step.filter_value);
      static const std::map<std::string, bool, std::less<>> go_bools{
          {"1", true}, {"t", true}, {"T", true}, {"TRUE", true}, {"true", true}, {"True", true},
          {"0", false}, {"f", false}, {"F", false}, {"FALSE", false}, {"false", false}, {"False", false}};
      if (auto it = go_bools.find(step.filter_value); it != go_bools.end()) step.filter_bool = it->second;
    } else if (auto eq = s.find('='); eq != std::string::npos && s.find('=', eq + 1) == std::string::npos) {
      step.map_filter_eq = eq;
    }
    p.steps_.push_back(std::move(step));
  }
  return p;
}

std::string ValuePath::describe() const {
  std::string out = "[";
  for (std::size_t i = 0; i < steps_.size(); ++i) out += (i ? "," : "") + steps_[i].text;
  return out + "]";
}

namespace {

// [key=value] matches as a string, as numbers after the gauge conversion,
// or as booleans after strconv.ParseBool.
bool filter_matches(element candidate, const PathStep& step) {
  std::string_view s;
  if (candidate.get(s) == simdjson::SUCCESS && s == step.filter_value) return true;
  if (step.filter_number) {
    if (auto got = to_float64(candidate); got && *got == *step.filter_number) return true;
  }
  bool b;
  if (step.filter_bool && candidate.get(b) == simdjson::SUCCESS && *step.filter_bool == b) return true;
  return false;
}

std::optional<long long> go_atoi(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return negative ? -v : v;
}

}  // namespace

std::optional<element> ValuePath::get(element from) const {
  element cur = from;
  for (const auto& step : steps_) {
    if (is_null(cur)) return std::nullopt;
    if (step.kind == PathStep::Kind::list_filter) {
      if (cur.type() != element_type::ARRAY) return std::nullopt;
      bool found = false;
      for (auto item : cur.get_array()) {
        element candidate;
        if (item.type() == element_type::OBJECT && item[step.filter_key].get(candidate) == simdjson::SUCCESS &&
            filter_matches(candidate, step)) {
          cur = item;
          found = true;
          break;
        }
      }
      if (!found) return std::nullopt;
      continue;
    }
    if (cur.type() == element_type::OBJECT) {
      if (auto eq = step.map_filter_eq; eq != std::string::npos) {
        std::string_view actual;
        element v;
        if (cur[std::string_view(step.text).substr(0, eq)].get(v) == simdjson::SUCCESS && v.get(actual) == simdjson::SUCCESS &&
            actual == std::string_view(step.text).substr(eq + 1)) {
          cur = v;
          continue;
        }
      }
      if (cur[step.text].get(cur) != simdjson::SUCCESS) return std::nullopt;
      continue;
    }
    if (cur.type() == element_type::ARRAY) {
      auto index = go_atoi(step.text);
      if (!index) return std::nullopt;
      auto arr = cur.get_array().value_unsafe();
      auto size = static_cast<long long>(arr.size());
      long long i = *index < 0 ? size + *index : *index;
      if (i < 0 || i >= size) return std::nullopt;
      cur = arr.at(static_cast<std::size_t>(i)).value_unsafe();
      continue;
    }
    return std::nullopt;
  }
  if (is_null(cur)) return std::nullopt;
  return cur;
}

namespace {

// A quantity's parts: sign, the powers of 10 and 2 to apply, and (in a
// buffer the caller gives, so that no call allocates once it has grown)
// its significant digits: the point removed, no leading zeros, empty for 0.
struct QuantityParts {
  bool negative = false;
  int fraction = 0;  // digits after the point
  int exponent10 = 0, exponent2 = 0;
};

bool split_quantity(std::string_view s, QuantityParts& q, std::string& digits) {
  digits.clear();
  if (s.empty()) return false;
  std::size_t pos = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) q.negative = s[pos++] == '-';
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) digits += s[pos++];
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      digits += s[pos++];
      ++q.fraction;
    }
  }
  std::string_view suffix = s.substr(pos);
  static const std::map<std::string_view, int> decimal{{"n", -9}, {"u", -6}, {"m", -3}, {"", 0},
                                                        {"k", 3},  {"M", 6},  {"G", 9},  {"T", 12},
                                                        {"P", 15}, {"E", 18}};
  static const std::map<std::string_view, int> binary{{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                       {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  if (auto d = decimal.find(suffix); d != decimal.end()) {
    q.exponent10 = d->second;
  } else if (auto b = binary.find(suffix); b != binary.end()) {
    q.exponent2 = b->second;
  } else if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    auto e = go_atoi(suffix.substr(1));
    if (!e || *e > 100000 || *e < -100000) return false;
    q.exponent10 = static_cast<int>(*e);
  } else {
    return false;
  }
  // Leading zeros carry nothing; an empty number ("m", "-", ".") is zero.
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  return true;
}

// ceil(q × 10^decimals), exactly; nullopt beyond an int64.
std::optional<std::int64_t> scaled_ceil(const QuantityParts& q, const std::string& digits, int decimals) {
  if (digits.empty()) return 0;
  // digits × 2^exponent2 × 10^k in 128-bit integers: below 10^19 × 2^60,
  // so there is room for the few multiplications by 10 an int64 allows.
  if (digits.size() > 19) return std::nullopt;
  using u128 = unsigned __int128;
  constexpr u128 int64_max = static_cast<u128>(INT64_MAX);
  u128 n = 0;
  for (char c : digits) n = n * 10 + static_cast<unsigned>(c - '0');
  n <<= q.exponent2;
  long k = static_cast<long>(q.exponent10) - q.fraction + decimals;
  if (k >= 0) {
    for (long i = 0; i < k; ++i) {
      if (n > int64_max) return std::nullopt;
      n *= 10;
    }
  } else if (-k >= 38) {
    n = 1;  // n < 2^124 < 10^38: a positive fraction below 1, rounded up
  } else {
    // Rounded up (away from zero, as apimachinery's RoundUp).
    u128 p = 1;
    for (long i = 0; i < -k; ++i) p *= 10;
    n = n / p + (n % p != 0 ? 1 : 0);
  }
  if (n > int64_max) return std::nullopt;
  auto v = static_cast<std::int64_t>(n);
  return q.negative ? -v : v;
}

// Digits of one quantity at a time, kept between calls.
std::string& digit_buffer() {
  thread_local std::string buffer;
  return buffer;
}

}  // namespace

std::optional<double> parse_quantity(std::string_view s) {
  QuantityParts q;
  std::string& mantissa_digits = digit_buffer();
  if (!split_quantity(s, q, mantissa_digits)) return std::nullopt;
  if (mantissa_digits.empty()) return 0.0;
  double sign = q.negative ? -1.0 : 1.0;
  int scale = q.exponent10 - q.fraction;
  if (q.exponent2 == 0) {
    if (mantissa_digits.size() <= 18 && scale >= -9) {
      long long m = std::stoll(mantissa_digits);
      double base = static_cast<double>(m);
      return sign * (scale == 0 ? base : base * go_pow10(scale));
    }
    // Beyond int64 or below nano: an exact decimal, rounded up to nano.
    if (scale >= -9) return sign * std::strtod(mantissa_digits.c_str(), nullptr) * go_pow10(scale);
    long double exact = std::strtold(mantissa_digits.c_str(), nullptr) * std::pow(10.0L, scale + 9);
    return sign * static_cast<double>(std::ceil(exact - 1e-6L)) * go_pow10(-9);
  }
  // Binary suffixes: whole numbers exactly (capped at 2^63-1), fractions
  // rounded up to nano.
  long double value = std::strtold(mantissa_digits.c_str(), nullptr) * std::pow(10.0L, scale) *
                      std::pow(2.0L, q.exponent2);
  if (q.fraction == 0) {
    constexpr long double cap = 9223372036854775807.0L;
    return sign * static_cast<double>(std::min(value, cap));
  }
  long double nanos = std::ceil(value * 1e9L - 1e-6L);
  return sign * static_cast<double>(nanos) * go_pow10(-9);
}

std::optional<std::int64_t> quantity_scaled_ceil(std::string_view s, int decimals) {
  QuantityParts q;
  std::string& digits = digit_buffer();
  if (!split_quantity(s, q, digits)) return std::nullopt;
  return scaled_ceil(q, digits, decimals);
}

std::optional<double> resource_quantity(std::string_view s, bool whole) {
  QuantityParts q;
  std::string& digits = digit_buffer();
  if (!split_quantity(s, q, digits)) return std::nullopt;
  auto value = scaled_ceil(q, digits, 0);
  if (!value) return parse_quantity(s);
  if (whole) return static_cast<double>(*value);
  constexpr std::int64_t max_milli_value = INT64_MAX / 1000;  // apimachinery's MaxMilliValue
  if (*value > max_milli_value) return static_cast<double>(*value);
  auto milli = scaled_ceil(q, digits, 3);
  if (!milli) return parse_quantity(s);
  return static_cast<double>(*milli) / 1000;
}

namespace {

// apimachinery's IsDNS1123Subdomain.
bool is_dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(label.front()) || !alnum(label.back())) return false;
    for (char c : label)
      if (!alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// apimachinery's IsQualifiedName: [prefix/]name, the prefix a DNS subdomain,
// the name up to 63 of [-A-Za-z0-9_.] starting and ending alphanumeric.
bool is_qualified_name(std::string_view s) {
  std::string_view name = s;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    if (s.find('/', slash + 1) != std::string_view::npos) return false;
    if (!is_dns1123_subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// Kubernetes' extended resources: outside the kubernetes.io domain, with
// a domain, and valid as a quota name: "requests." + name a qualified name.
bool is_extended_resource(std::string_view name) {
  auto slash = name.find('/');
  if (slash == std::string_view::npos || name.find("kubernetes.io/") != std::string_view::npos) return false;
  if (name.starts_with("requests.")) return false;
  // "requests." + domain is a DNS subdomain when the domain is one and the
  // whole is short enough; the rest must be a qualified name's name part.
  std::string_view domain = name.substr(0, slash), rest = name.substr(slash + 1);
  return domain.size() + 9 <= 253 && is_dns1123_subdomain(domain) && rest.find('/') == std::string_view::npos &&
         is_qualified_name(rest);
}

}  // namespace

std::optional<ResourceClass> kube_resource_class(std::string_view name, bool node) {
  // A container's requests and limits are whole numbers but for CPU; a
  // node's are all in thousandths.
  bool whole = !node;
  if (name == "cpu") return ResourceClass{"core", false};
  if (name == "memory" || name == "storage" || name == "ephemeral-storage") return ResourceClass{"byte", whole};
  if (node && name == "pods") return ResourceClass{"integer", whole};
  if (name.starts_with("hugepages-") || name.starts_with("attachable-volumes-")) return ResourceClass{"byte", whole};
  if (is_extended_resource(name)) return ResourceClass{"integer", whole};
  return std::nullopt;
}

std::optional<double> string_to_float64(std::string_view s) {
  std::string l = lower_ascii(s);
  if (l == "true" || l == "yes") return 1.0;
  if (l == "false" || l == "no" || l == "unknown") return 0.0;
  if (auto t = parse_rfc3339(s)) return static_cast<double>(t->seconds);  // kube-state-metrics' Unix()
  if (auto q = parse_quantity(s)) return q;
  if (s.size() >= 2 && s.back() == '%' &&
      std::all_of(s.begin(), s.end() - 1, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::strtod(std::string(s.substr(0, s.size() - 1)).c_str(), nullptr) / 100.0;
  return go_parse_float(s);
}

std::optional<double> to_float64(element value, std::string* error) {
  switch (value.type()) {
    case element_type::BOOL: return value.get_bool().value_unsafe() ? 1.0 : 0.0;
    case element_type::INT64: return static_cast<double>(value.get_int64().value_unsafe());
    case element_type::UINT64: return static_cast<double>(value.get_uint64().value_unsafe());
    case element_type::DOUBLE: return value.get_double().value_unsafe();
    case element_type::STRING: {
      std::string_view s = value.get_string().value_unsafe();
      if (auto v = string_to_float64(s)) return v;
      if (error) *error = "strconv.ParseFloat: parsing \"" + std::string(s) + "\": invalid syntax";
      return std::nullopt;
    }
    case element_type::NULL_VALUE:
      if (error) *error = "got nil while resolving path";
      return std::nullopt;
    default:
      if (error) *error = "expected number but was " + go_format_value(value);
      return std::nullopt;
  }
}

std::string go_format_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  // Shortest round-trip digits, in scientific form: d.ddde±x.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, end);
  auto e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::stoi(sci.substr(e + 1));
  bool negative = mant[0] == '-';
  if (negative) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  // Go writes %e when the exponent is < -4 or >= 6 (the precision it uses
  // for this decision with the shortest digits).
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + ebuf;
  }
  if (exp < 0) return out + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  if (static_cast<int>(digits.size()) <= exp + 1)
    return out + digits + std::string(static_cast<std::size_t>(exp + 1 - static_cast<int>(digits.size())), '0');
  return out + digits.substr(0, static_cast<std::size_t>(exp + 1)) + "." + digits.substr(static_cast<std::size_t>(exp + 1));
}

std::string go_format_value(element value) {
  switch (value.type()) {
    case element_type::STRING: return std::string(value.get_string().value_unsafe());
    case element_type::INT64: return std::to_string(value.get_int64().value_unsafe());
    case element_type::UINT64: return go_format_float(static_cast<double>(value.get_uint64().value_unsafe()));
    case element_type::DOUBLE: return go_format_float(value.get_double().value_unsafe());
    case element_type::BOOL: return value.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE: return "<nil>";
    case element_type::ARRAY: {
      std::string out = "[";
      bool first = true;
      for (auto item : value.get_array()) {
        if (!first) out += ' ';
        first = false;
        out += go_format_value(item);
      }
      return out + "]";
    }
    case element_type::OBJECT: {
      std::map<std::string_view, element> sorted;
      for (auto field : value.get_object()) sorted.emplace(field.key, field.value);
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, v] : sorted) {
        if (!first) out += ' ';
        first = false;
        out.append(k).append(":").append(go_format_value(v));
      }
      return out + "]";
    }
  }
  return {};
}

std::string sanitize_label_name(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (std::isalnum(c) || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '_';
      // One "_" per UTF-8 character: skip its continuation bytes.
      while (i + 1 < key.size() && (static_cast<unsigned char>(key[i + 1]) & 0xC0) == 0x80) ++i;
    }
  }
  // A label name cannot start with a digit, and "__" names are Prometheus'
  // own: a Kubernetes label key may be either ("9lives", "__meta").
  if (!out.empty() && std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(0, "_");
  while (out.starts_with("__")) out.erase(0, 1);
  return out;
}

std::vector<std::string> kube_map_label_names(std::string_view prefix, const std::vector<std::string_view>& keys) {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (auto key : keys) {
    std::string name;
    name.reserve(prefix.size() + 1 + key.size() + 4);
    name.append(prefix).append("_");
    // Sanitised (one "_" per character outside [a-zA-Z0-9_]), then "aB" ->
    // "a_B" (a lower-case letter or digit before an upper-case one), then
    // lower case: in one pass.
    char prev = 0;
    for (std::size_t i = 0; i < key.size(); ++i) {
      char c = key[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        c = '_';
        while (i + 1 < key.size() && (static_cast<unsigned char>(key[i + 1]) & 0xC0) == 0x80) ++i;
      }
      bool upper = c >= 'A' && c <= 'Z';
      if (upper && ((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9'))) name += '_';
      name += upper ? static_cast<char>(c - 'A' + 'a') : c;
      prev = c;
    }
    names.push_back(std::move(name));
  }
  // Names that collide are rare: look for one before doing the work.
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()) return names;

  // kube-state-metrics' mapToPrometheusLabels: name -> index of the key
  // using it, and per base name the conflict suffixes handed out so far.
  std::vector<std::string> bases = std::move(names);
  names.clear();
  std::map<std::string, std::size_t, std::less<>> used;
  std::map<std::string, int, std::less<>> conflicts;
  auto next_free = [&](const std::string& base, int& count) {
    while (true) {
      std::string candidate = base + "_conflict" + std::to_string(++count);
      if (!used.count(candidate)) return candidate;
    }
  };
  for (auto& base : bases) {
    std::string name = base;
    if (auto c = conflicts.find(base); c != conflicts.end()) {
      // Collided before: the plain name is no longer in use, take the next suffix.
      name = next_free(base, c->second);
    } else if (auto u = used.find(name); u != used.end()) {
      // First collision: the earlier key becomes _conflict1, this one the next.
      int count = 0;
      std::size_t earlier = u->second;
      used.erase(u);
      std::string renamed = next_free(base, count);
      names[earlier] = renamed;
      used.emplace(renamed, earlier);
      name = next_free(base, count);
      conflicts.emplace(base, count);
    }
    used.emplace(name, names.size());
    names.push_back(std::move(name));
  }
  return names;
}

std::optional<KubeTime> parse_kube_time(std::string_view s) { return parse_rfc3339(s); }

double seconds_between(KubeTime from, KubeTime to) {
  // Go's Time.Sub: a Duration of int64 nanoseconds, saturated; then
  // Duration.Seconds().
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  __int128 ns = (static_cast<__int128>(to.seconds) - from.seconds) * 1'000'000'000 + (to.nanos - from.nanos);
  std::int64_t d = ns > kMax ? kMax : ns < kMin ? kMin : static_cast<std::int64_t>(ns);
  std::int64_t whole = d / 1'000'000'000, rest = d % 1'000'000'000;
  return static_cast<double>(whole) + static_cast<double>(rest) / 1e9;
}

}  // namespace kv::watch::crs
