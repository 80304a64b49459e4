// kube-state-metrics' version and kind wildcards: a groupVersionKind with
// version "*" or kind "*" stands for every served version, or every kind,
// of its group.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/resource_types.hpp"

namespace kv::watch {

bool has_wildcard(const crs::ResourceSpec& resource);
bool has_wildcard(const crs::MetricsConfig& config);

// Replaces each wildcard entry of `config` by one entry per resource of
// `served(group)` that it matches, in that order, as if the config named
// that version and kind (so customresource_version and customresource_kind
// carry them). `served` may throw. Returns a warning for each wildcard that
// matches nothing (that entry is dropped).
std::vector<std::string> expand_wildcards(
    crs::MetricsConfig& config, const std::function<std::vector<ResourceType>(const std::string& group)>& served);

}  // namespace kv::watch
