// The metric configs that come with kv-watch, selectable by name
// (--config kubevirt): tools/kv-watch/configs/*.yaml, built into the binary.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

namespace kv::watch {

struct BuiltinConfig {
  std::string_view name;
  std::string_view yaml;
};

const std::vector<BuiltinConfig>& builtin_configs();
std::optional<std::string_view> find_builtin_config(std::string_view name);

}  // namespace kv::watch
