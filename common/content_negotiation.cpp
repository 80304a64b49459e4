#include "content_negotiation.hpp"

#include <charconv>
#include <optional>
#include <vector>

namespace kv {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

struct MediaRange {
  std::string_view type;  // e.g. text/plain
  double q = 1.0;
  std::optional<std::string_view> version;
  std::optional<std::string_view> escaping;
};

double parse_q(std::string_view v) {
  double q = 0;
  auto res = std::from_chars(v.data(), v.data() + v.size(), q);
  if (res.ec != std::errc() || q < 0) return 0;
  return q > 1 ? 1 : q;
}

std::string_view unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// Splits "a;x=1, b;q=0.5" into media ranges with their parameters.
std::vector<MediaRange> parse_list(std::string_view header) {
  std::vector<MediaRange> ranges;
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    MediaRange r;
    std::size_t semi = item.find(';');
    r.type = trim(item.substr(0, semi));
    while (semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      std::string_view param = trim(item.substr(0, semi));
      std::size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = trim(param.substr(0, eq));
      std::string_view value = unquote(trim(param.substr(eq + 1)));
      if (iequals(key, "q")) r.q = parse_q(value);
      else if (iequals(key, "version")) r.version = value;
      else if (iequals(key, "escaping")) r.escaping = value;
    }
    if (!r.type.empty()) ranges.push_back(r);
  }
  return ranges;
}

bool valid_escaping(std::string_view e) {
  return e == "allow-utf-8" || e == "underscores" || e == "dots" || e == "values";
}

}  // namespace

Negotiated negotiate_format(std::string_view accept) {
  std::optional<MediaRange> best;
  ExpositionFormat best_format = ExpositionFormat::prometheus_text;
  for (const MediaRange& r : parse_list(accept)) {
    if (r.q <= 0) continue;
    std::optional<ExpositionFormat> format;
    if (iequals(r.type, "application/openmetrics-text") && (!r.version || *r.version == "1.0.0"))
      format = ExpositionFormat::openmetrics;
    else if (iequals(r.type, "text/plain") && (!r.version || *r.version == "0.0.4"))
      format = ExpositionFormat::prometheus_text;
    if (!format) continue;
    // Ties keep the earlier entry, as clients list their preference first.
    if (!best || r.q > best->q) {
      best = r;
      best_format = *format;
    }
  }
  Negotiated n;
  n.format = best_format;
  n.content_type = std::string(best_format == ExpositionFormat::openmetrics
                                   ? kContentTypeOpenMetrics
                                   : kContentTypeText);
  // Every name we write is a legacy name, so any escaping scheme yields the
  // same bytes; echo the one asked for, as the negotiation protocol wants.
  if (best && best->escaping && valid_escaping(*best->escaping)) {
    n.content_type += "; escaping=";
    n.content_type += *best->escaping;
  }
  return n;
}

bool accepts_gzip(std::string_view accept_encoding) {
  // An explicit "gzip" entry decides; "*" only speaks for what is not named.
  std::optional<double> gzip_q, any_q;
  for (const MediaRange& r : parse_list(accept_encoding)) {
    if (iequals(r.type, "gzip") || iequals(r.type, "x-gzip")) gzip_q = r.q;
    else if (r.type == "*") any_q = r.q;
  }
  return gzip_q ? *gzip_q > 0 : any_q.value_or(0) > 0;
}

}  // namespace kv
