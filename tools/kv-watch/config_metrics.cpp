#include "kv-watch/config_metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

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
  // What the picked resources' metrics look up is watched too.
  for (std::size_t i = 0; i < configured.size(); ++i)
    if (picked[i])
      for (const auto& m : configured[i].spec->metrics)
        for (const auto& l : m.lookups)
          for (std::size_t j = 0; j < configured.size(); ++j)
            if (l.group == configured[j].spec->group && l.version == configured[j].spec->version &&
                l.kind == configured[j].spec->kind)
              picked[j] = true;
  std::vector<ConfiguredResource> out;
  for (std::size_t i = 0; i < configured.size(); ++i)
    if (picked[i]) out.push_back(configured[i]);
  return out;
}

bool is_looked_up(const crs::ResourceSpec& resource, const std::vector<ConfiguredResource>& resources) {
  for (const auto& r : resources)
    for (const auto& m : r.spec->metrics)
      for (const auto& l : m.lookups)
        if (l.group == resource.group && l.version == resource.version && l.kind == resource.kind) return true;
  return false;
}

namespace {

MetricType sample_type(const crs::MetricSpec& metric) {
  return metric.sample_type == crs::SampleType::counter ? MetricType::counter : MetricType::gauge;
}

// Appends one sample line, without the help text.
void append_series(std::string& out, const crs::MetricSpec& metric, const crs::Series& x, SampleOut& scratch) {
  scratch.name = metric.name;
  scratch.type = sample_type(metric);
  scratch.help = {};
  scratch.labels.assign(x.labels.begin(), x.labels.end());
  scratch.value = x.value;
  append_sample_line(out, scratch);
}

// Appends lines made by append_series to `out`, the first of a family
// (`first_of_family`) with the metric's help text after its type.
void append_lines(std::string& out, std::string_view lines, const crs::MetricSpec& metric, bool first_of_family) {
  if (lines.empty()) return;
  if (!first_of_family || metric.help.empty()) {
    out += lines;
    return;
  }
  // {"name":...,"type":... then ,"help":... then the rest.
  std::string head = "{\"name\":";
  append_json_string(head, metric.name);
  head += ",\"type\":\"";
  head += to_string(sample_type(metric));
  head += '"';
  out += head;
  out += ",\"help\":";
  append_json_string(out, metric.help);
  out += lines.substr(head.size());
}

}  // namespace

std::shared_ptr<SeriesMemo> ConfigMetrics::evaluate(Scratch& scratch, const crs::ResourceSpec& spec,
                                                     const std::string& key, const CachedObject& cached,
                                                     std::uint64_t inputs, bool other_shards_cached) {
  // Parsed from a buffer with simdjson's padding, reused: parsing the
  // cached string itself would copy it into a new allocation each time.
  scratch.padded.reserve(cached.fields.size() + simdjson::SIMDJSON_PADDING);
  scratch.padded.assign(cached.fields);
  simdjson::dom::element object;
  if (scratch.parser.parse(scratch.padded.data(), scratch.padded.size(), false).get(object) != simdjson::SUCCESS)
    return nullptr;
  // Made in scratch space, then copied once at its size.
  scratch.lines.clear();
  scratch.spans.clear();
  auto memo = std::make_shared<SeriesMemo>();
  memo->spec = &spec;
  memo->inputs = inputs;
  // Another shard's object, cached here for lookups: it makes no series.
  std::string_view uid;
  if (other_shards_cached && (object["metadata"]["uid"].get(uid) != simdjson::SUCCESS || !sharding_.keeps(uid)))
    return memo;
  for (std::size_t m = 0; m < spec.metrics.size(); ++m) {
    const auto& metric = spec.metrics[m];
    if (metric.each.type == crs::EachType::transition) continue;  // made of changes, not of objects
    if (!metric.lookups.empty() && !lookups_.ready(metric)) continue;
    scratch.errors.clear();
    scratch.series.clear();
    crs::object_series(metric, object, scratch.series, scratch.errors, &lookups_);
    const auto index = static_cast<std::uint32_t>(m);
    if (metric.aggregate) {
      for (auto& x : scratch.series) memo->to_aggregate.emplace_back(index, std::move(x));
    } else if (!scratch.series.empty()) {
      for (const auto& x : scratch.series) append_series(scratch.lines, metric, x, scratch.sample);
      scratch.spans.push_back({index, static_cast<std::uint32_t>(scratch.lines.size()),
                               static_cast<std::uint32_t>(scratch.series.size())});
    }
    if (scratch.errors.empty()) continue;
    memo->errors.emplace_back(index, static_cast<std::uint32_t>(scratch.errors.size()));
    // The first problem of each metric is worth a line; the rest are counted.
    std::lock_guard lock(logged_mutex_);
    if (!logged_[metric.name]) {
      logged_[metric.name] = true;
      spdlog::warn("{} (object {}; further errors of this metric are only counted)", scratch.errors.front(), key);
    }
  }
  memo->lines = scratch.lines;
  memo->spans = scratch.spans;
  return memo;
}

std::size_t ConfigMetrics::write(const std::vector<ConfiguredResource>& resources,
                                 const std::vector<std::vector<const ObjectCache*>>& caches, std::string& out,
                                 const TransitionMetrics* transitions) {
  // First each object's series, from its memo or evaluated anew, in key
  // order per resource (the same state gives the same bytes, however it is
  // split into per-namespace caches).
  lookups_.build(resources, caches);
  // A resource watched per namespace has a cache per namespace, with
  // disjoint keys; all stay locked until the memos are taken, so that the
  // merge is one state (and the memos, kept with the objects, are ours to
  // write).
  std::vector<std::unique_lock<std::mutex>> locks;
  struct Task {
    const crs::ResourceSpec* spec;
    const std::pair<const std::string, CachedObject>* entry;
    std::uint64_t inputs;
    bool other_shards_cached;
  };
  std::vector<Task> tasks;
  std::vector<std::vector<const std::pair<const std::string, CachedObject>*>> objects(resources.size());
  std::size_t objects_seen = 0;
  for (std::size_t r = 0; r < resources.size(); ++r) {
    const auto& spec = *resources[r].spec;
    if (spec.metrics.empty()) continue;  // watched only for lookups
    const bool other_shards_cached = sharding_.total > 1 && is_looked_up(spec, resources);
    // A memo holds while its object and what its lookups read are unchanged.
    const std::uint64_t inputs = lookups_.inputs(spec) ^ (other_shards_cached ? 1 : 0);
    auto& list = objects[r];
    for (const ObjectCache* cache : caches[r]) {
      locks.emplace_back(cache->mutex());
      list.reserve(list.size() + cache->objects().size());
      for (const auto& entry : cache->objects()) list.push_back(&entry);
    }
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->first < b->first; });
    objects_seen += list.size();
    for (const auto* entry : list) {
      const auto& memo = entry->second.memo;
      if (!memo || memo->spec != &spec || memo->inputs != inputs)
        tasks.push_back({&spec, entry, inputs, other_shards_cached});
    }
  }
  // Objects are independent of each other (lookups only read this
  // snapshot's tables), so many of them are shared out between threads.
  constexpr std::size_t kObjectsPerThread = 2000;
  const std::size_t workers =
      std::min<std::size_t>(threads_, std::max<std::size_t>(1, tasks.size() / kObjectsPerThread));
  while (scratch_.size() < workers) scratch_.push_back(std::make_unique<Scratch>());
  auto run = [&](std::size_t w) {
    for (std::size_t i = w; i < tasks.size(); i += workers) {
      const Task& t = tasks[i];
      t.entry->second.memo = evaluate(*scratch_[w], *t.spec, t.entry->first, t.entry->second, t.inputs,
                                      t.other_shards_cached);
    }
  };
  if (workers == 1) {
    run(0);
  } else {
    std::vector<std::jthread> threads;
    for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(run, w);
    run(0);
  }
  std::vector<std::vector<std::shared_ptr<const SeriesMemo>>> memos(resources.size());
  std::size_t bytes = 0;
  for (std::size_t r = 0; r < resources.size(); ++r) {
    const auto& spec = *resources[r].spec;
    memos[r].reserve(objects[r].size());
    for (const auto* entry : objects[r]) {
      const auto& memo = entry->second.memo;
      if (!memo) continue;
      // Left out again in this snapshot: counted again, as kv_watch_metric_errors_total says.
      for (const auto& [m, n] : memo->errors) errors_[spec.metrics[m].name] += n;
      bytes += memo->lines.size();
      memos[r].push_back(memo);
    }
  }
  locks.clear();
  // Then family by family: a metric name is one family, however many
  // entries make it (a wildcard's, or a name repeated on purpose), so its
  // series come out in one piece and an aggregate spans all of them.
  std::vector<std::string_view> names;  // in the order the config first names them
  std::map<std::string_view, std::vector<std::pair<std::size_t, std::uint32_t>>> makers;  // resource, metric
  for (std::size_t r = 0; r < resources.size(); ++r) {
    const auto& metrics = resources[r].spec->metrics;
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      auto& entries = makers[metrics[m].name];
      if (entries.empty()) names.emplace_back(metrics[m].name);
      entries.emplace_back(r, static_cast<std::uint32_t>(m));
    }
  }
  out.reserve(out.size() + bytes + bytes / 8);
  std::size_t written = 0;
  std::vector<crs::Series> to_aggregate;
  for (std::string_view name : names) {
    const auto& entries = makers[name];
    const crs::MetricSpec& first = resources[entries.front().first].spec->metrics[entries.front().second];
    // Not even an aggregate's 0 until what the metric looks up is listed.
    if (!first.lookups.empty() && !lookups_.ready(first)) continue;
    bool first_line = true;
    to_aggregate.clear();
    for (const auto& [r, m] : entries) {
      const crs::MetricSpec& metric = resources[r].spec->metrics[m];
      if (metric.each.type == crs::EachType::transition) continue;
      for (const auto& memo : memos[r]) {
        if (first.aggregate) {
          for (const auto& [index, x] : memo->to_aggregate)
            if (index == m) to_aggregate.push_back(x);
          continue;
        }
        std::uint32_t begin = 0;
        for (const auto& span : memo->spans) {
          if (span.metric == m) {
            append_lines(out, std::string_view(memo->lines).substr(begin, span.end - begin), first, first_line);
            first_line = false;
            written += span.count;
            break;
          }
          begin = span.end;
        }
      }
    }
    if (first.aggregate) {
      crs::aggregate_series(*first.aggregate, to_aggregate);
      lines_.clear();
      for (const auto& x : to_aggregate) append_series(lines_, first, x, sample_);
      append_lines(out, lines_, first, first_line);
      first_line = first_line && to_aggregate.empty();
      written += to_aggregate.size();
    }
    for (const auto& [r, m] : entries) {
      const crs::MetricSpec& metric = resources[r].spec->metrics[m];
      if (metric.each.type != crs::EachType::transition || !transitions) continue;
      if (const TransitionHistogram* h = transitions->histogram(metric))
        h->write([&](const SampleOut& x) {
          append_sample_line(out, x);
          ++written;
        });
    }
  }
  spdlog::debug("snapshot: {} of {} objects evaluated on {} thread{}, the others unchanged since the last",
                tasks.size(), objects_seen, workers, workers == 1 ? "" : "s");
  return written;
}

}  // namespace kv::watch
