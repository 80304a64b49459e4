// kv-promfmt's OTLP settings: the command line first, then the OpenTelemetry
// environment variables (the metrics-specific OTEL_EXPORTER_OTLP_METRICS_*
// before the general OTEL_EXPORTER_OTLP_*), then the defaults of the
// OpenTelemetry specification (protocol/exporter.md). The environment is
// passed in, so that the rules are tested without touching the process's.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kv::promfmt {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

enum class OtlpProtocol { http_protobuf, http_json };

// What the command line said; empty strings and vectors mean "not given".
struct OtlpFlags {
  bool push = false;  // --otlp, or --otlp-endpoint given
  std::string endpoint;
  std::string protocol;
  std::string compression;
  std::string timeout;
  std::string certificate;
  std::string client_certificate;
  std::string client_key;
  std::vector<std::string> headers;   // K=V
  std::vector<std::string> resource;  // K=V
  std::size_t queue_size = 8;
  std::size_t max_request_size = 64 << 20;
  std::string retry_max_time = "5m";
};

struct OtlpExporterConfig {
  std::string url;  // the full URL of the metrics endpoint
  OtlpProtocol protocol = OtlpProtocol::http_protobuf;
  bool gzip = true;
  std::chrono::milliseconds timeout{10000};  // 0: no limit
  std::string certificate;
  std::string client_certificate;
  std::string client_key;
  KeyValues headers;
  std::size_t queue_size = 8;
  std::size_t max_request_size = 64 << 20;
  std::chrono::milliseconds retry_max_time{300000};
};

// A lookup of environment variables: nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

struct OtlpSettings {
  std::optional<OtlpExporterConfig> exporter;  // set when pushing
  KeyValues resource;                          // sorted by key, always with service.name
  std::string error;                           // a usage error in the flags; empty if none
  std::vector<std::string> warnings;           // environment values that were ignored
};

// Resolves the settings; the exporter only when flags.push.
OtlpSettings resolve_otlp_settings(const OtlpFlags& flags, const EnvLookup& env);

// The default service.name, as OpenTelemetry SDKs make it when none is set.
inline constexpr std::string_view kDefaultServiceName = "unknown_service:kv-promfmt";

// "k1=v1,k2=v2" as OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS
// write it: blanks around keys and values are dropped, and both are
// percent-decoded. nullopt when the text is malformed (then the whole
// variable is to be ignored, as the specification says).
std::optional<KeyValues> parse_key_value_list(std::string_view text);

// Decodes %XX escapes; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace kv::promfmt
