// Command-line conventions shared by the tools (CLI11): help and version on
// stdout with exit 0, usage errors on stderr with exit 2.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace kv {

// "<tool> <version> (<library versions>)"
std::string version_string(std::string_view tool, std::string_view libraries);

// Parses argv. Returns an exit code when the tool should stop now (help,
// version, usage error), or nullopt to go on.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

// Reports a usage error found after parsing; returns kExitUsage.
int usage_error(const CLI::App& app, std::string_view message);

}  // namespace kv
