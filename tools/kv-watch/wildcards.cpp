#include "kv-watch/wildcards.hpp"

#include <map>

namespace kv::watch {

bool has_wildcard(const crs::ResourceSpec& resource) { return resource.version == "*" || resource.kind == "*"; }

bool has_wildcard(const crs::MetricsConfig& config) {
  for (const auto& r : config.resources)
    if (has_wildcard(r)) return true;
  return false;
}

namespace {

// The entry as if it named `type`: its customresource_* labels (put there
// from the entry's "*" when the config was read) get the real values.
crs::ResourceSpec concrete(const crs::ResourceSpec& wildcard, const ResourceType& type) {
  crs::ResourceSpec out = wildcard;
  out.version = type.version;
  out.kind = type.kind;
  out.plural = type.resource;
  out.where = wildcard.where + " as " + type.api_version() + " " + type.kind;
  if (!out.custom_resource_labels) return out;
  for (auto& metric : out.metrics) {
    auto fill = [&](const char* label, const std::string& value) {
      if (auto it = metric.common_labels.find(label); it != metric.common_labels.end() && it->second == "*")
        it->second = value;
    };
    fill("customresource_version", type.version);
    fill("customresource_kind", type.kind);
  }
  return out;
}

}  // namespace

std::vector<std::string> expand_wildcards(
    crs::MetricsConfig& config, const std::function<std::vector<ResourceType>(const std::string& group)>& served) {
  std::vector<std::string> warnings;
  std::map<std::string, std::vector<ResourceType>> by_group;  // each group asked once
  std::vector<crs::ResourceSpec> out;
  for (auto& entry : config.resources) {
    if (!has_wildcard(entry)) {
      out.push_back(std::move(entry));
      continue;
    }
    auto known = by_group.find(entry.group);
    if (known == by_group.end()) known = by_group.emplace(entry.group, served(entry.group)).first;
    std::size_t matched = 0;
    for (const auto& type : known->second) {
      if (type.group != entry.group) continue;
      if (entry.version != "*" && type.version != entry.version) continue;
      if (entry.kind != "*" && type.kind != entry.kind) continue;
      out.push_back(concrete(entry, type));
      ++matched;
    }
    if (matched == 0)
      warnings.push_back(entry.where + ": no served resource of group \"" + entry.group + "\" matches version \"" +
                         entry.version + "\" and kind \"" + entry.kind + "\"; it makes no metrics");
  }
  config.resources = std::move(out);
  return warnings;
}

}  // namespace kv::watch
