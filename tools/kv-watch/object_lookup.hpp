// lookup (kv-watch-config(5)): a metric of one resource reading fields of
// another cached object, found by key in a per-snapshot index of that
// resource's objects, or a resource's one object (the KubeVirt CR).
#pragma once
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"

namespace kv::watch {

struct ConfiguredResource;
class ObjectCache;

namespace crs {

// Finds a lookup's other object for an object (and the forEach element
// `from`, or the object again): nullopt when it is absent (its name path
// gives nothing, no such object is cached, or it does not meet the
// lookup's when).
class ObjectLookup {
 public:
  virtual ~ObjectLookup() = default;
  virtual std::optional<simdjson::dom::element> find(const LookupSpec& lookup, simdjson::dom::element object,
                                                     simdjson::dom::element from) const = 0;
};

// The key a lookup names, as the cache keys objects: "namespace/name" for
// a namespaced resource, "name" for a cluster-scoped one. False when its
// name paths (from `from`) or, namespaced, its namespace path (from
// `object`) give nothing.
bool lookup_key(const LookupSpec& lookup, simdjson::dom::element object, simdjson::dom::element from,
                bool namespaced, std::string& key);

// Whether an object meets a lookup's fieldSelector terms: the field as a
// label would show it, "" when absent, as the API server compares them.
bool meets_field_selector(const std::vector<FieldTerm>& selector, simdjson::dom::element object);

// The labels of the metric's lookups for the series of `object` (made from
// `from`, the forEach element or the object) into `labels`, cleared first.
// False when a lookup that is not optional finds nothing: those series are
// left out. Without `lookups`, every other object is absent.
bool lookup_labels(const MetricSpec& metric, const ObjectLookup* lookups, simdjson::dom::element object,
                   simdjson::dom::element from, LabelSet& labels);

// valueFromLabel: each series of out[first..] takes its value from that
// label (converted as a gauge value), or the product of those of a list
// (those absent or 0 left out), which it then goes without; a series
// without the label (or any factor) is left out, one whose label does not
// convert too, with a message in `errors`.
void take_values_from_label(const MetricSpec& metric, std::vector<Series>& out, std::size_t first,
                            std::vector<std::string>& errors);
// The same with a variant's valueFromLabel; `where` names the metric in messages.
void take_values_from_label(const std::string& where, const std::string& value_from_label,
                            const std::vector<std::string>& value_factors, std::vector<Series>& out,
                            std::size_t first, std::vector<std::string>& errors);

}  // namespace crs

// One snapshot's index of the objects that lookups read: each looked-up
// resource's cached objects parsed once into one document, by key in a hash
// map; a singleton lookup's object chosen once. Once built, several threads
// may find() in it at once.
class LookupTables : public crs::ObjectLookup {
 public:
  // From the resources of this snapshot (those whose first list is
  // complete) and their caches, index-aligned as ConfigMetrics::write
  // takes them. Locks each cache while copying it.
  void build(const std::vector<ConfiguredResource>& resources,
             const std::vector<std::vector<const ObjectCache*>>& caches);
  // Whether every resource the metric looks up is in this snapshot: a
  // metric waits for the first list of what it reads, as for its own.
  bool ready(const crs::MetricSpec& metric) const;
  // A digest of what the metrics of `resource` look up in this snapshot
  // (0 without lookups): series made with the same digest still hold.
  std::uint64_t inputs(const crs::ResourceSpec& resource) const;
  std::optional<simdjson::dom::element> find(const crs::LookupSpec& lookup, simdjson::dom::element object,
                                             simdjson::dom::element from) const override;

 private:
  struct Table {
    bool namespaced = true;
    std::string text;  // the pruned objects as one JSON list
    std::uint64_t digest = 0;  // of text
    simdjson::dom::parser parser;
    std::unordered_map<std::string, simdjson::dom::element> by_key;
  };
  struct Target {
    const Table* table = nullptr;
    std::optional<simdjson::dom::element> singleton;  // a lookup without name
  };
  std::vector<std::unique_ptr<Table>> tables_;
  std::unordered_map<const crs::LookupSpec*, Target> targets_;
};

}  // namespace kv::watch
