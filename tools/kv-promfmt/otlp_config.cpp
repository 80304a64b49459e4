#include "otlp_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>

#include "duration.hpp"

namespace kv::promfmt {

namespace {

constexpr const char* kDefaultUrl = "http://localhost:4318/v1/metrics";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

// RFC 9110 token characters, for header names.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  return true;
}

bool is_header_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The URL with "/" as its path when it has none (exporter.md, "Endpoint
// URLs for OTLP/HTTP"); nullopt unless it is an http or https URL with a host.
std::optional<std::string> endpoint_url(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string scheme = lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  std::size_t end = rest.find_first_of("/?#");
  if (end == 0 || rest.empty()) return std::nullopt;
  std::string out(url);
  if (end == std::string_view::npos) out += '/';
  else if (rest[end] != '/') out.insert(sep + 3 + end, 1, '/');
  return out;
}

// Splits "K=V" at the first '='.
std::optional<std::pair<std::string, std::string>> split_flag(std::string_view text) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  return std::pair{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

void set_value(KeyValues& list, std::string key, std::string value, bool case_insensitive) {
  auto same = [&](const auto& kv) {
    return case_insensitive ? iequals(kv.first, key) : kv.first == key;
  };
  auto it = std::find_if(list.begin(), list.end(), same);
  if (it != list.end()) it->second = std::move(value);
  else list.emplace_back(std::move(key), std::move(value));
}

class Resolver {
 public:
  Resolver(const EnvLookup& env, OtlpSettings& out) : env_(env), out_(out) {}

  // The value of the first variable of `names` that is set and not empty.
  std::optional<std::pair<std::string, std::string>> first(
      std::initializer_list<const char*> names) const {
    for (const char* name : names)
      if (const char* v = env_(name); v && *v) return std::pair{std::string(name), std::string(v)};
    return std::nullopt;
  }

  // Like first(), but a value that `accept` refuses is warned about and
  // skipped, as if unset (the specification's "gracefully ignore").
  template <typename T, typename Parse>
  std::optional<T> first_valid(std::initializer_list<const char*> names, Parse parse,
                               std::string_view what) {
    for (const char* name : names) {
      const char* v = env_(name);
      if (!v || !*v) continue;
      if (std::optional<T> parsed = parse(std::string_view(v))) return parsed;
      out_.warnings.push_back(std::string(name) + "=\"" + v + "\" is not " + std::string(what) +
                              "; ignored");
    }
    return std::nullopt;
  }

 private:
  const EnvLookup& env_;
  OtlpSettings& out_;
};

std::optional<OtlpProtocol> parse_protocol(std::string_view text) {
  std::string p = lower(trim(text));
  if (p == "http/protobuf") return OtlpProtocol::http_protobuf;
  if (p == "http/json") return OtlpProtocol::http_json;
  return std::nullopt;
}

std::optional<bool> parse_compression(std::string_view text) {
  std::string c = lower(trim(text));
  if (c == "gzip") return true;
  if (c == "none") return false;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_timeout_ms(std::string_view text) {
  text = trim(text);
  std::int64_t ms = -1;
  auto res = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || ms < 0) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

std::optional<KeyValues> parse_headers(std::string_view text) {
  auto list = parse_key_value_list(text);
  if (!list) return std::nullopt;
  for (const auto& [k, v] : *list)
    if (!is_token(k) || !is_header_value(v)) return std::nullopt;
  return list;
}

void resolve_resource(const OtlpFlags& flags, Resolver& env, OtlpSettings& out) {
  KeyValues attrs;
  if (auto list = env.first_valid<KeyValues>({"OTEL_RESOURCE_ATTRIBUTES"}, parse_key_value_list,
                                             "a list of key=value pairs"))
    for (auto& [k, v] : *list) set_value(attrs, k, v, false);
  if (auto name = env.first({"OTEL_SERVICE_NAME"})) set_value(attrs, "service.name", name->second, false);
  for (const auto& text : flags.resource) {
    auto kv = split_flag(text);
    if (!kv) {
      out.error = "--otlp-resource: \"" + text + "\" is not KEY=VALUE";
      return;
    }
    set_value(attrs, kv->first, kv->second, false);
  }
  if (std::none_of(attrs.begin(), attrs.end(),
                   [](const auto& kv) { return kv.first == "service.name"; }))
    attrs.emplace_back("service.name", std::string(kDefaultServiceName));
  std::sort(attrs.begin(), attrs.end());
  out.resource = std::move(attrs);
}

void resolve_exporter(const OtlpFlags& flags, Resolver& env, OtlpSettings& out) {
  OtlpExporterConfig c;

  if (!flags.endpoint.empty()) {
    auto url = endpoint_url(flags.endpoint);
    if (!url) {
      out.error = "--otlp-endpoint: \"" + flags.endpoint +
                  "\" is not an http:// or https:// URL (like http://collector:4318/v1/metrics)";
      return;
    }
    c.url = *url;
  } else if (auto url = env.first_valid<std::string>({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
                                                     endpoint_url, "an http(s) URL")) {
    c.url = *url;  // the signal's own endpoint is used as it is
  } else if (auto base = env.first_valid<std::string>({"OTEL_EXPORTER_OTLP_ENDPOINT"},
                                                      endpoint_url, "an http(s) URL")) {
    // The general endpoint is a base URL: the signal's path goes below it.
    std::string url = *base;
    if (!url.ends_with('/')) url += '/';
    c.url = url + "v1/metrics";
  } else {
    c.url = kDefaultUrl;
  }

  if (!flags.protocol.empty()) {
    c.protocol = *parse_protocol(flags.protocol);  // the CLI allows only valid values
  } else if (auto p = env.first_valid<OtlpProtocol>(
                 {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"},
                 parse_protocol, "a supported protocol (http/protobuf, http/json)")) {
    c.protocol = *p;
  }

  if (!flags.compression.empty()) {
    c.gzip = *parse_compression(flags.compression);
  } else if (auto gz = env.first_valid<bool>(
                 {"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"},
                 parse_compression, "a compression (gzip, none)")) {
    c.gzip = *gz;
  }

  if (!flags.timeout.empty()) {
    auto d = parse_duration(flags.timeout);
    if (!d) {
      out.error = "--otlp-timeout: \"" + flags.timeout + "\" is not a duration (like 10s, 500ms)";
      return;
    }
    c.timeout = *d;
  } else if (auto t = env.first_valid<std::chrono::milliseconds>(
                 {"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"},
                 parse_timeout_ms, "a number of milliseconds")) {
    c.timeout = *t;
  }

  auto file = [&](const std::string& flag, std::initializer_list<const char*> names) {
    if (!flag.empty()) return flag;
    auto v = env.first(names);
    return v ? v->second : std::string();
  };
  c.certificate = file(flags.certificate, {"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
                                           "OTEL_EXPORTER_OTLP_CERTIFICATE"});
  c.client_certificate =
      file(flags.client_certificate,
           {"OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"});
  c.client_key = file(flags.client_key,
                      {"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"});

  if (auto list = env.first_valid<KeyValues>(
          {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"}, parse_headers,
          "a list of header=value pairs"))
    for (auto& [k, v] : *list) set_value(c.headers, k, v, true);
  for (const auto& text : flags.headers) {
    auto kv = split_flag(text);
    if (!kv || !is_token(kv->first) || !is_header_value(kv->second)) {
      out.error = "--otlp-header: \"" + text + "\" is not NAME=VALUE with an HTTP header name";
      return;
    }
    set_value(c.headers, kv->first, kv->second, true);
  }

  c.queue_size = flags.queue_size;
  c.max_request_size = flags.max_request_size;
  auto retry = parse_duration(flags.retry_max_time);
  if (!retry) {
    out.error = "--otlp-retry-max-time: \"" + flags.retry_max_time +
                "\" is not a duration (like 30s, 5m)";
    return;
  }
  c.retry_max_time = *retry;
  out.exporter = std::move(c);
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    auto res = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (res.ec != std::errc() || res.ptr != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::optional<KeyValues> parse_key_value_list(std::string_view text) {
  KeyValues out;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;  // "a=1,,b=2" or a trailing comma
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto key = percent_decode(trim(item.substr(0, eq)));
    auto value = percent_decode(trim(item.substr(eq + 1)));
    if (!key || !value || key->empty()) return std::nullopt;
    set_value(out, std::move(*key), std::move(*value), false);
  }
  return out;
}

OtlpSettings resolve_otlp_settings(const OtlpFlags& flags, const EnvLookup& env) {
  OtlpSettings out;
  Resolver resolver(env, out);
  resolve_resource(flags, resolver, out);
  if (out.error.empty() && flags.push) resolve_exporter(flags, resolver, out);
  return out;
}

}  // namespace kv::promfmt
