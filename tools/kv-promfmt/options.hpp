// kv-promfmt's settings, as parsed from the command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "exposition.hpp"
#include "otlp_config.hpp"

namespace kv::promfmt {

struct Options {
  std::vector<std::string> inputs;   // "-" is stdin; none means stdin
  ExpositionFormat format = ExpositionFormat::prometheus_text;
  bool otlp_json = false;  // --format otlp-json: stdout carries OTLP requests instead
  std::string textfile;
  std::vector<std::string> listen;
  std::chrono::milliseconds stale_after{std::chrono::minutes(5)};
  bool keep_serving = false;
  bool timestamps = false;
  bool strict = false;
  std::optional<bool> self_metrics;  // default: on with --listen, else off
  std::size_t max_line_size = 1 << 20;
  std::string log_level = "info";
  OtlpSettings otlp;  // the resource, and the exporter when pushing

  bool otlp_push() const { return otlp.exporter.has_value(); }
  bool to_stdout() const { return textfile.empty() && listen.empty() && !otlp_push(); }
  bool with_self_metrics() const { return self_metrics.value_or(!listen.empty() || otlp_push()); }
};

}  // namespace kv::promfmt
