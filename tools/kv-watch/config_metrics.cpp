#include "kv-watch/config_metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kv-watch/crs_metrics.hpp"

namespace kv::watch {

std::vector<ConfiguredResource> resolve_configured_resources(
    const crs::MetricsConfig& config, KindLookup lookup,
    const std::function<std::vector<DiscoveredResource>()>& discover, std::vector<std::string>* unresolved) {
  const bool ask_server = lookup == KindLookup::discovery && discover;
  std::vector<ConfiguredResource> out;
  for (const auto& spec : config.resources) {
    std::optional<ResourceType> type;
    if (!spec.plural.empty()) {
      type = find_builtin_resource(spec.plural);
      if (!type || type->group != spec.group || type->version != spec.version)
        type = ResourceType{spec.group, spec.version, spec.plural, spec.kind, true};
      // The server knows whether it is namespaced.
      if (ask_server)
        for (const auto& d : discover())
          if (d.type.group == spec.group && d.type.version == spec.version && d.type.resource == spec.plural)
            type = d.type;
    } else {
      if (auto b = find_builtin_resource(spec.kind);
          b && b->group == spec.group && b->version == spec.version && b->kind == spec.kind)
        type = b;
      if (!type && ask_server)
        for (const auto& d : discover())
          if (d.type.group == spec.group && d.type.version == spec.version && d.type.kind == spec.kind) type = d.type;
    }
    if (!type && lookup == KindLookup::guess_plural) {
      std::string plural = spec.kind;
      for (auto& ch : plural) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      type = ResourceType{spec.group, spec.version, plural + "s", spec.kind, true};
    }
    if (!type) {
      std::string message =
          lookup == KindLookup::discovery
              ? spec.where + ": no resource of kind " + spec.kind + " in " +
                    (spec.group.empty() ? "" : spec.group + "/") + spec.version + " is served by the API server"
              : spec.where + ": kind " + spec.kind + " is not built in; add resourcePlural to name its "
                                                     "resource without a server";
      if (!unresolved) throw crs::ConfigError(message);
      unresolved->push_back(std::move(message));
      continue;
    }
    // Like kube-state-metrics, a later entry for the same resource replaces an earlier one.
    auto same = std::find_if(out.begin(), out.end(), [&](const auto& c) { return c.type.id() == type->id(); });
    if (same != out.end()) {
      spdlog::warn("{}: replaces the earlier entry for {}", spec.where, type->id());
      *same = {&spec, *type};
    } else {
      out.push_back({&spec, *type});
    }
  }
  return out;
}

std::vector<ConfiguredResource> select_configured_resources(
    const std::vector<ConfiguredResource>& configured, const std::vector<std::string>& names,
    const std::function<std::vector<DiscoveredResource>()>& discover,
    const std::vector<std::string>& unresolved) {
  std::vector<bool> picked(configured.size(), false);
  for (const auto& name : names) {
    bool found = false;
    for (std::size_t i = 0; i < configured.size(); ++i)
      if (names_resource(name, configured[i].type, discover)) picked[i] = found = true;
    if (found) continue;
    std::string message = "--resources: \"" + name + "\" ";
    if (auto type = resolve_resource(name, discover)) message += "(" + type->id() + ") ";
    message += "is not one of the config's resources (";
    for (std::size_t i = 0; i < configured.size(); ++i) message += (i ? ", " : "") + configured[i].type.id();
    message += ")";
    // The entry it names may be one that could not be resolved.
    for (const auto& why : unresolved) message += "; " + why;
    throw ResourceSelectionError(message);
  }
  std::vector<ConfiguredResource> out;
  for (std::size_t i = 0; i < configured.size(); ++i)
    if (picked[i]) out.push_back(configured[i]);
  return out;
}

void ConfigMetrics::write(const std::vector<ConfiguredResource>& resources,
                          const std::vector<std::vector<const ObjectCache*>>& caches,
                          const std::function<void(const SampleOut&)>& sink,
                          const TransitionMetrics* transitions) {
  std::vector<std::string> errors;
  for (std::size_t r = 0; r < resources.size(); ++r) {
    const auto& spec = *resources[r].spec;
    // Each object is parsed once for all metrics; the series are kept per
    // metric so that each family comes out in one piece.
    std::vector<std::vector<crs::Series>> series(spec.metrics.size());
    {
      // A resource watched per namespace has a cache per namespace, with
      // disjoint keys; all stay locked so that the merge is one state.
      std::vector<std::unique_lock<std::mutex>> locks;
      std::vector<const std::pair<const std::string, CachedObject>*> objects;
      for (const ObjectCache* cache : caches[r]) {
        locks.emplace_back(cache->mutex());
        objects.reserve(objects.size() + cache->objects().size());
        for (const auto& entry : cache->objects()) objects.push_back(&entry);
      }
      // Sorted keys: the same state gives the same bytes, however it is split.
      std::sort(objects.begin(), objects.end(), [](auto* a, auto* b) { return a->first < b->first; });
      for (const auto* entry : objects) {
        simdjson::dom::element object;
        if (parser_.parse(entry->second.fields).get(object) != simdjson::SUCCESS) continue;
        for (std::size_t m = 0; m < spec.metrics.size(); ++m) {
          const auto& metric = spec.metrics[m];
          if (metric.each.type == crs::EachType::transition) continue;  // made of changes, not of objects
          errors.clear();
          crs::object_series(metric, object, series[m], errors);
          if (errors.empty()) continue;
          errors_[metric.name] += errors.size();
          // The first problem of each metric is worth a line; the rest are counted.
          if (!logged_[metric.name]) {
            logged_[metric.name] = true;
            spdlog::warn("{} (object {}; further errors of this metric are only counted)", errors.front(),
                         entry->first);
          }
        }
      }
    }
    for (std::size_t m = 0; m < spec.metrics.size(); ++m) {
      const auto& metric = spec.metrics[m];
      if (metric.each.type == crs::EachType::transition) {
        if (const TransitionHistogram* h = transitions ? transitions->histogram(metric) : nullptr) h->write(sink);
        continue;
      }
      if (metric.aggregate) crs::aggregate_series(*metric.aggregate, series[m]);
      SampleOut s;
      s.name = metric.name;
      s.type = metric.sample_type == crs::SampleType::counter ? MetricType::counter : MetricType::gauge;
      s.help = metric.help;
      for (const auto& x : series[m]) {
        s.labels.assign(x.labels.begin(), x.labels.end());
        s.value = x.value;
        sink(s);
        s.help = {};  // the first sample of a name carries its help (kv-sample(5))
      }
    }
  }
}

}  // namespace kv::watch
