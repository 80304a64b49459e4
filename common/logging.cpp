#include "logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <string>

namespace kv {

bool setup_logging(std::string_view tool, std::string_view level) {
  spdlog::level::level_enum lvl;
  if (level == "error") lvl = spdlog::level::err;
  else if (level == "warning") lvl = spdlog::level::warn;
  else if (level == "info") lvl = spdlog::level::info;
  else if (level == "debug") lvl = spdlog::level::debug;
  else return false;
  // The mutex-protected sink: reader threads and the HTTP server log at once.
  auto logger = spdlog::stderr_logger_mt(std::string(tool) + "-log");
  logger->set_pattern(std::string(tool) + ": %l: %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace kv
