// kv-promfmt's settings, as parsed from the command line.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "exposition.hpp"

namespace kv::promfmt {

struct Options {
  std::vector<std::string> inputs;   // "-" is stdin; none means stdin
  ExpositionFormat format = ExpositionFormat::prometheus_text;
  std::string textfile;
  std::vector<std::string> listen;
  std::chrono::milliseconds stale_after{std::chrono::minutes(5)};
  bool keep_serving = false;
  bool timestamps = false;
  bool strict = false;
  std::optional<bool> self_metrics;  // default: on with --listen, else off
  std::size_t max_line_size = 1 << 20;
  std::string log_level = "info";

  bool to_stdout() const { return textfile.empty() && listen.empty(); }
  bool with_self_metrics() const { return self_metrics.value_or(!listen.empty()); }
};

}  // namespace kv::promfmt
