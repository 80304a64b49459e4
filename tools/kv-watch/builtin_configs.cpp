#include "kv-watch/builtin_configs.hpp"

// The YAML files go into .rodata as they are (the Makefile makes this object
// depend on them), each followed by a NUL.
#define KV_EMBED(symbol, path)                                \
  asm(".section .rodata\n"                                    \
      ".global " #symbol "\n"                                 \
      ".balign 16\n" #symbol ":\n"                            \
      ".incbin \"" path "\"\n"                                \
      ".byte 0\n"                                             \
      ".previous\n");                                         \
  extern "C" const char symbol[];

KV_EMBED(kv_watch_config_kubevirt, "tools/kv-watch/configs/kubevirt.yaml")
KV_EMBED(kv_watch_config_kube_state, "tools/kv-watch/configs/kube-state.yaml")

namespace kv::watch {

const std::vector<BuiltinConfig>& builtin_configs() {
  static const std::vector<BuiltinConfig> configs{
      {"kubevirt", kv_watch_config_kubevirt},
      {"kube-state", kv_watch_config_kube_state},
  };
  return configs;
}

std::optional<std::string_view> find_builtin_config(std::string_view name) {
  for (const auto& c : builtin_configs())
    if (c.name == name) return c.yaml;
  return std::nullopt;
}

}  // namespace kv::watch
