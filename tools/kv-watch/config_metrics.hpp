// Snapshots of the metrics a Custom Resource State config defines, made
// from the objects in the caches.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/object_lookup.hpp"
#include "kv-watch/resource_types.hpp"
#include "kv-watch/sharding.hpp"
#include "kv-watch/transitions.hpp"
#include "sample_writer.hpp"

namespace kv::watch {

// A configured resource and the API resource it names.
struct ConfiguredResource {
  const crs::ResourceSpec* spec;
  ResourceType type;
};

// How a configured kind that neither the built-in table nor resourcePlural
// names is found.
enum class KindLookup {
  discovery,     // in the server's discovery documents
  guess_plural,  // replaying: objects are matched by apiVersion and kind, so a
                 // made-up plural (the lower-case kind + "s") only names it
  none,          // without a server (--print-resources): an error asking for resourcePlural
};

// Finds the API resource of each configured group/version/kind: the
// built-in table, resourcePlural, or `lookup` (`discover` fetches the
// discovery documents and may throw). An entry that names no resource
// throws crs::ConfigError naming it, or, given `unresolved`, is left out
// and its error appended there.
std::vector<ConfiguredResource> resolve_configured_resources(
    const crs::MetricsConfig& config, KindLookup lookup,
    const std::function<std::vector<DiscoveredResource>()>& discover = {},
    std::vector<std::string>* unresolved = nullptr);

// A --resources name that is no resource, or none of the config's.
class ResourceSelectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The configured resources that `names` (--resources, named as
// resolve_resource takes names) pick, in the config's order. Throws
// ResourceSelectionError for a name that picks none; its message lists
// what the config has, and the errors of `unresolved` entries.
std::vector<ConfiguredResource> select_configured_resources(
    const std::vector<ConfiguredResource>& configured, const std::vector<std::string>& names,
    const std::function<std::vector<DiscoveredResource>()>& discover,
    const std::vector<std::string>& unresolved);

// Whether a metric of `resources` looks up objects of `resource`.
bool is_looked_up(const crs::ResourceSpec& resource, const std::vector<ConfiguredResource>& resources);

// One object version's series for one config entry, kept with the cached
// object so that a snapshot evaluates only objects that changed since the
// last (kube-state-metrics, too, renders an object's series when it
// changes, not at each scrape).
struct SeriesMemo {
  const crs::ResourceSpec* spec = nullptr;  // the entry it was made for
  std::uint64_t inputs = 0;                 // what its lookups read (LookupTables::inputs)
  struct Span {
    std::uint32_t metric;  // index in spec->metrics
    std::uint32_t end;     // in lines
    std::uint32_t count;   // sample lines
  };
  std::string lines;       // sample lines without help texts, metric by metric
  std::vector<Span> spans;
  std::vector<std::pair<std::uint32_t, crs::Series>> to_aggregate;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> errors;  // metric, series left out
};

class ConfigMetrics {
 public:
  // Appends the sample lines (kv-sample(5)) of every configured metric's
  // series for the objects in `caches` (index-aligned with `resources`; a
  // resource watched per namespace has one cache per namespace, merged in
  // key order), and the histograms of its Transition metrics from
  // `transitions`, in the config's order, to `out`. Returns how many.
  // A metric with a lookup is left out until the resources it looks up
  // are among `resources` too.
  std::size_t write(const std::vector<ConfiguredResource>& resources,
                    const std::vector<std::vector<const ObjectCache*>>& caches, std::string& out,
                    const TransitionMetrics* transitions = nullptr);
  // Series left out so far, per metric name.
  const std::map<std::string, std::uint64_t>& errors() const { return errors_; }
  // With --total-shards: the resources that lookups read are cached whole
  // (a lookup must find objects of every shard), so their own metrics
  // count only the objects of this shard, by metadata.uid.
  void set_sharding(Sharding sharding) { sharding_ = sharding; }
  // Threads that evaluate objects when a snapshot has many to evaluate
  // (the first one, or after every object changed); 1 evaluates them all
  // on the caller's thread.
  void set_threads(unsigned threads) { threads_ = threads == 0 ? 1 : threads; }

 private:
  // Scratch space of one evaluating thread, kept between objects and snapshots.
  struct Scratch {
    simdjson::dom::parser parser;
    std::string padded;  // the object being parsed, with simdjson's padding
    std::string lines;
    std::vector<SeriesMemo::Span> spans;
    std::vector<crs::Series> series;
    std::vector<std::string> errors;
    SampleOut sample;
  };
  // The series of one object version; nullptr when its JSON does not parse.
  std::shared_ptr<SeriesMemo> evaluate(Scratch& scratch, const crs::ResourceSpec& spec, const std::string& key,
                                       const CachedObject& cached, std::uint64_t inputs, bool other_shards_cached);

  std::map<std::string, std::uint64_t> errors_;
  std::mutex logged_mutex_;
  std::map<std::string, bool> logged_;  // metrics whose first error was logged
  LookupTables lookups_;
  Sharding sharding_;
  unsigned threads_ = 1;
  std::vector<std::unique_ptr<Scratch>> scratch_;  // one per thread
  std::string lines_;  // an aggregate's lines
  SampleOut sample_;
};

}  // namespace kv::watch
