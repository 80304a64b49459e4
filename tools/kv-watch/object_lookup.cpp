#include "kv-watch/object_lookup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/object_cache.hpp"

namespace kv::watch {
namespace crs {

using simdjson::dom::element;

namespace {

// A key part as a label would show it; empty for nothing.
bool key_part(const ValuePath& path, element from, std::string& out) {
  auto v = path.get(from);
  if (!v) return false;
  std::string_view s;
  if (v->get(s) == simdjson::SUCCESS) out.append(s);
  else out += go_format_value(*v);
  return !s.empty() || v->type() != simdjson::dom::element_type::STRING;
}

}  // namespace

bool lookup_key(const LookupSpec& lookup, element object, element from, bool namespaced, std::string& key) {
  key.clear();
  if (namespaced) {
    if (!key_part(lookup.namespace_path, object, key)) return false;
    key += '/';
  }
  std::size_t base = key.size();
  for (const auto& name : lookup.name) {
    key.resize(base);
    if (key_part(name, from, key)) return true;
  }
  return false;
}

bool meets_field_selector(const std::vector<FieldTerm>& selector, element object) {
  std::string value;
  for (const auto& term : selector) {
    value.clear();
    key_part(term.path, object, value);
    if ((value == term.value) != term.equal) return false;
  }
  return true;
}

bool lookup_labels(const MetricSpec& metric, const ObjectLookup* lookups, element object, element from,
                   LabelSet& labels) {
  labels.clear();
  // Read in reverse so that an earlier lookup's label wins on a clash.
  for (auto l = metric.lookups.rbegin(); l != metric.lookups.rend(); ++l) {
    // `if` not met: the lookup is not made, its object is absent.
    bool made = lookups && (l->only_if.empty() || meets_conditions(l->only_if, from));
    auto other = made ? lookups->find(*l, object, from) : std::nullopt;
    if (!other) {
      if (!l->optional) return false;
      continue;
    }
    add_labels_from_paths(l->labels, *other, labels);
  }
  return true;
}

namespace {

// One label's value as a series value; nullopt, with a message in
// `errors`, when it does not convert.
std::optional<double> label_value(const std::string& where, const std::string& label, const std::string& text,
                                  std::vector<std::string>& errors) {
  auto value = string_to_float64(text);
  if (!value)
    errors.push_back(where + ": valueFromLabel " + label + ": strconv.ParseFloat: parsing \"" + text +
                     "\": invalid syntax");
  return value;
}

// valueFromLabel as a list: the product of the factors present and not 0
// (KubeVirt counts vCPUs so, from cores, threads and sockets); nullopt
// when there is none, or one does not convert.
std::optional<double> label_product(const std::string& where, const std::vector<std::string>& factors,
                                    const LabelSet& labels, std::vector<std::string>& errors) {
  std::optional<double> product;
  for (const auto& name : factors) {
    const std::string* text = labels.find(name);
    if (!text) continue;
    auto factor = label_value(where, name, *text, errors);
    if (!factor) return std::nullopt;
    if (*factor != 0) product = product.value_or(1) * *factor;
  }
  return product;
}

}  // namespace

void take_values_from_label(const std::string& where, const std::string& value_from_label,
                            const std::vector<std::string>& value_factors, std::vector<Series>& out,
                            std::size_t first, std::vector<std::string>& errors) {
  std::size_t kept = first;
  for (std::size_t i = first; i < out.size(); ++i) {
    std::optional<double> value;
    if (value_factors.empty()) {
      const std::string* text = out[i].labels.find(value_from_label);
      if (!text) continue;
      value = label_value(where, value_from_label, *text, errors);
    } else {
      value = label_product(where, value_factors, out[i].labels, errors);
    }
    if (!value) continue;
    out[i].value = *value;
    out[i].labels.erase(value_from_label);
    for (const auto& name : value_factors) out[i].labels.erase(name);
    if (kept != i) out[kept] = std::move(out[i]);
    ++kept;
  }
  out.resize(kept);
}

void take_values_from_label(const MetricSpec& metric, std::vector<Series>& out, std::size_t first,
                            std::vector<std::string>& errors) {
  take_values_from_label(metric.where, metric.value_from_label, metric.value_factors, out, first, errors);
}

}  // namespace crs

namespace {

bool same_resource(const crs::LookupSpec& l, const crs::ResourceSpec& r) {
  return l.group == r.group && l.version == r.version && l.kind == r.kind;
}

}  // namespace

void LookupTables::build(const std::vector<ConfiguredResource>& resources,
                         const std::vector<std::vector<const ObjectCache*>>& caches) {
  targets_.clear();
  std::size_t used = 0;  // tables are reused between snapshots, parsers and all
  std::unordered_map<std::size_t, const Table*> table_of;  // by index into `resources`
  for (const auto& r : resources)
    for (const auto& m : r.spec->metrics)
      for (const auto& l : m.lookups) {
        auto t = std::find_if(resources.begin(), resources.end(),
                              [&](const ConfiguredResource& c) { return same_resource(l, *c.spec); });
        if (t == resources.end()) continue;  // not in this snapshot: ready() says no
        std::size_t index = static_cast<std::size_t>(t - resources.begin());
        auto& table = table_of[index];
        if (!table) {
          if (used == tables_.size()) tables_.push_back(std::make_unique<Table>());
          Table& fresh = *tables_[used++];
          fresh.namespaced = t->type.namespaced;
          fresh.text.assign(1, '[');
          fresh.by_key.clear();
          std::vector<std::string> keys;
          for (const ObjectCache* cache : caches[index]) {
            std::lock_guard<std::mutex> lock(cache->mutex());
            for (const auto& [key, object] : cache->objects()) {
              if (fresh.text.size() > 1) fresh.text += ',';
              fresh.text += object.fields;
              keys.push_back(key);
            }
          }
          fresh.text += ']';
          fresh.digest = std::hash<std::string>{}(fresh.text);
          simdjson::dom::element list;
          if (fresh.parser.parse(fresh.text).get(list) == simdjson::SUCCESS) {
            std::size_t i = 0;
            fresh.by_key.reserve(keys.size());
            for (auto object : list.get_array()) fresh.by_key.emplace(std::move(keys[i++]), object);
          } else {
            spdlog::warn("{}: the cached objects of {} do not parse; its lookups find nothing", l.where,
                         t->type.id());
          }
          table = &fresh;
        }
        Target target{table, std::nullopt};
        if (l.name.empty()) {
          // The resource's one object: the first, in key order, that meets
          // when (and the fieldSelector, as the resource may be cached whole).
          const std::pair<const std::string, simdjson::dom::element>* best = nullptr;
          for (const auto& entry : table->by_key)
            if ((!best || entry.first < best->first) && crs::meets_conditions(l.when, entry.second) &&
                crs::meets_field_selector(l.selector, entry.second))
              best = &entry;
          if (best) target.singleton = best->second;
        }
        targets_[&l] = target;
      }
}

bool LookupTables::ready(const crs::MetricSpec& metric) const {
  return std::all_of(metric.lookups.begin(), metric.lookups.end(),
                     [&](const crs::LookupSpec& l) { return targets_.count(&l) != 0; });
}

std::uint64_t LookupTables::inputs(const crs::ResourceSpec& resource) const {
  std::uint64_t digest = 0;
  for (const auto& m : resource.metrics)
    for (const auto& l : m.lookups) {
      auto t = targets_.find(&l);
      // Not listed yet, or the digest of what it reads; mixed as FNV-1a mixes bytes.
      digest = (digest ^ (t == targets_.end() ? 0x9e3779b97f4a7c15u : t->second.table->digest)) * 0x100000001b3u;
    }
  return digest;
}

std::optional<simdjson::dom::element> LookupTables::find(const crs::LookupSpec& lookup, simdjson::dom::element object,
                                                         simdjson::dom::element from) const {
  auto t = targets_.find(&lookup);
  if (t == targets_.end()) return std::nullopt;
  if (lookup.name.empty()) return t->second.singleton;
  // Scratch kept between lookups, one per evaluating thread.
  thread_local std::string key;
  if (!crs::lookup_key(lookup, object, from, t->second.table->namespaced, key)) return std::nullopt;
  auto it = t->second.table->by_key.find(key);
  if (it == t->second.table->by_key.end()) return std::nullopt;
  if (!lookup.when.empty() && !crs::meets_conditions(lookup.when, it->second)) return std::nullopt;
  if (!crs::meets_field_selector(lookup.selector, it->second)) return std::nullopt;
  return it->second;
}

}  // namespace kv::watch
