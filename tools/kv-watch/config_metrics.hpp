// Snapshots of the metrics a Custom Resource State config defines, made
// from the objects in the caches.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/resource_types.hpp"
#include "sample_writer.hpp"

namespace kv::watch {

// A configured resource and the API resource it names.
struct ConfiguredResource {
  const crs::ResourceSpec* spec;
  ResourceType type;
};

// Finds the API resource of each configured group/version/kind: the
// built-in table, resourcePlural, or discovery (when `discover` is given).
// Throws crs::ConfigError naming the resource when none is found.
std::vector<ConfiguredResource> resolve_configured_resources(
    const crs::MetricsConfig& config,
    const std::function<std::vector<DiscoveredResource>()>& discover);

class ConfigMetrics {
 public:
  // Writes every configured metric's series for the objects in `caches`
  // (index-aligned with `resources`).
  void write(const std::vector<ConfiguredResource>& resources,
             const std::vector<const ObjectCache*>& caches,
             const std::function<void(const SampleOut&)>& sink);
  // Series left out so far, per metric name.
  const std::map<std::string, std::uint64_t>& errors() const { return errors_; }

 private:
  std::map<std::string, std::uint64_t> errors_;
  std::map<std::string, bool> logged_;
  simdjson::dom::parser parser_;
};

}  // namespace kv::watch
