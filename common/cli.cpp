#include "cli.hpp"

#include <cstdio>

#include "exit_codes.hpp"

#ifndef KV_VERSION
#define KV_VERSION "0.0.0"
#endif

namespace kv {

std::string version_string(std::string_view tool, std::string_view libraries) {
  std::string v = std::string(tool) + " " + KV_VERSION;
  if (!libraries.empty()) v += " (" + std::string(libraries) + ")";
  return v;
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e.what());
  }
  return std::nullopt;
}

int usage_error(const CLI::App& app, std::string_view message) {
  std::fprintf(stderr, "%s: %.*s\nTry '%s --help' for more information.\n",
               app.get_name().c_str(), static_cast<int>(message.size()), message.data(),
               app.get_name().c_str());
  return kExitUsage;
}

}  // namespace kv
