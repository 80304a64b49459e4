// What the unit tests of lookups share: a config's resources, each with an
// empty cache, as LookupTables::build and ConfigMetrics::write take them.
#pragma once
#include <simdjson.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/object_cache.hpp"

namespace kv::watch::support {

struct CachedConfig {
  crs::MetricsConfig config;
  std::vector<ConfiguredResource> resources;
  std::vector<std::unique_ptr<ObjectCache>> owned;
  std::vector<std::vector<const ObjectCache*>> caches;
  simdjson::dom::parser parser;

  // `type_of` gives each entry's resource by kind: its plural and whether
  // it is namespaced.
  CachedConfig(const char* text, const std::function<std::pair<std::string, bool>(const std::string&)>& type_of)
      : config(crs::parse_metrics_config(text, "test.yaml")) {
    for (const auto& spec : config.resources) {
      auto [plural, namespaced] = type_of(spec.kind);
      resources.push_back({&spec, ResourceType{spec.group, spec.version, plural, spec.kind, namespaced}});
      owned.push_back(std::make_unique<ObjectCache>(FieldSelection(crs::fields_read(spec))));
      caches.push_back({owned.back().get()});
    }
  }
  // Caches `json` in the cache of entry `r`.
  void add(std::size_t r, const std::string& json) { owned.at(r)->upsert(parser.parse(json).value()); }
};

}  // namespace kv::watch::support
