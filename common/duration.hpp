// Durations as Prometheus and Go write them: "30s", "5m", "1h30m", "250ms".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kv {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

// What parse_duration takes, for error messages.
inline constexpr const char* kDurationSyntax =
    "whole numbers with a unit of ms, s, m, h or d, like 500ms, 15s, 1m30s";

// The usage error for an option's duration that does not parse, or that is
// 0 where `positive` asks for more: `--interval: "1.5s" is not a positive
// duration (whole numbers ...)`.
std::string bad_duration(std::string_view option, std::string_view text, bool positive);

}  // namespace kv
