// Logging for every tool: spdlog, to stderr only (stdout is data), one line
// per event as "<tool>: <level>: <message>".
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace kv {

inline constexpr const char* kLogLevels = "error, warning, info, debug";

// Returns false when `level` is not one of kLogLevels.
bool setup_logging(std::string_view tool, std::string_view level);

}  // namespace kv
