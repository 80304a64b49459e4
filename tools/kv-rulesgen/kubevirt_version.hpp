// KubeVirt release versions as the rules know them: major.minor. Rules
// change with minor releases, so a patch release gets its minor's rules.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace kv::rulesgen {

struct KubevirtVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const KubevirtVersion&) const = default;
};

// "v1.9" (rule sources use this form only).
std::optional<KubevirtVersion> parse_release(std::string_view text);
// What a user may type: "v1.9", "1.9", "v1.9.3", "1.9.0-rc.1"; the patch
// and any pre-release suffix are ignored.
std::optional<KubevirtVersion> parse_user_version(std::string_view text);
// "v1.9"
std::string to_string(KubevirtVersion v);

}  // namespace kv::rulesgen
