#include "kv-watch/crs_metrics.hpp"

#include <algorithm>
#include <iterator>

#include "kv-watch/map_labels.hpp"
#include "kv-watch/object_lists.hpp"
#include "kv-watch/object_lookup.hpp"

namespace kv::watch::crs {

LabelSet::LabelSet(std::initializer_list<value_type> items) {
  for (const auto& [k, v] : items) set(k, v);
}

LabelSet::LabelSet(const std::map<std::string, std::string>& sorted) : items_(sorted.begin(), sorted.end()) {}

namespace {

// Label names are short and mostly differ early: a byte loop beats a
// call to memcmp, which std::string_view's ordering makes per comparison.
inline bool name_less(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  return a.size() < b.size();
}

}  // namespace

std::vector<LabelSet::value_type>::iterator LabelSet::lower_bound(std::string_view name) {
  // Labels mostly arrive in order (paths are sorted at load): try the end first.
  if (items_.empty() || name_less(items_.back().first, name)) return items_.end();
  return std::lower_bound(items_.begin(), items_.end(), name,
                          [](const value_type& item, std::string_view n) { return name_less(item.first, n); });
}

void LabelSet::set(std::string_view name, std::string value) {
  auto it = lower_bound(name);
  if (it != items_.end() && it->first == name) it->second = std::move(value);
  else items_.emplace(it, std::string(name), std::move(value));
}

void LabelSet::add(std::string_view name, std::string_view value) {
  auto it = lower_bound(name);
  if (it == items_.end() || it->first != name) items_.emplace(it, std::string(name), std::string(value));
}

void LabelSet::add_all(const LabelSet& other) {
  if (other.items_.empty()) return;
  if (items_.empty()) {
    items_ = other.items_;
    return;
  }
  std::vector<value_type> merged;
  merged.reserve(std::max(items_.capacity(), items_.size() + other.items_.size()));
  auto a = items_.begin();
  auto b = other.items_.begin();
  while (a != items_.end() && b != other.items_.end()) {
    if (name_less(b->first, a->first)) {
      merged.push_back(*b++);
    } else {
      if (a->first == b->first) ++b;  // ours wins
      merged.push_back(std::move(*a++));
    }
  }
  std::move(a, items_.end(), std::back_inserter(merged));
  merged.insert(merged.end(), b, other.items_.end());
  items_ = std::move(merged);
}

const std::string* LabelSet::find(std::string_view name) const {
  auto it = const_cast<LabelSet*>(this)->lower_bound(name);
  return it != items_.end() && it->first == name ? &it->second : nullptr;
}

void LabelSet::erase(std::string_view name) {
  auto it = lower_bound(name);
  if (it != items_.end() && it->first == name) items_.erase(it);
}

void LabelSet::empty_value(std::string_view name) {
  auto it = lower_bound(name);
  if (it != items_.end() && it->first == name) it->second.clear();
}

void LabelSet::erase_named(std::span<const std::string> names) {
  std::erase_if(items_, [&](const value_type& item) {
    return std::find(names.begin(), names.end(), item.first) != names.end();
  });
}

void LabelSet::erase_emptied(std::span<const std::string_view> names) {
  std::erase_if(items_, [&](const value_type& item) {
    return item.second.empty() && std::find(names.begin(), names.end(), item.first) != names.end();
  });
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using Labels = LabelSet;

bool is_star(const std::string& key) { return !key.empty() && (key.front() == '*' || key.back() == '*'); }

// labelsFromPath against `from`: "*" entries (maps copied, in key order)
// first, then plain entries, which win.
void add_path_labels(const LabelPaths& paths, std::optional<element> from, Labels& out) {
  if (!from) return;
  std::vector<const std::pair<std::string, ValuePath>*> stars;
  for (const auto& p : paths)
    if (is_star(p.first)) stars.push_back(&p);
  std::sort(stars.begin(), stars.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* star : stars) {
    auto map = star->second.get(*from);
    if (!map || map->type() != element_type::OBJECT) continue;
    std::string prefix = star->first.back() == '*' ? star->first.substr(0, star->first.size() - 1) : "";
    for (auto field : map->get_object())
      out.set(sanitize_label_name(prefix + std::string(field.key)), go_format_value(field.value));
  }
  for (const auto& [key, path] : paths) {
    if (is_star(key)) continue;
    if (auto v = path.get(*from)) out.set(key, go_format_value(*v));  // key sanitised at load
  }
}

std::optional<element> resolve(const ValuePath& path, std::optional<element> from) {
  if (!from) return std::nullopt;
  if (path.empty()) return is_null(*from) ? std::nullopt : from;
  return path.get(*from);
}

struct Context {
  const MetricSpec& metric;
  std::vector<Series>& out;
  std::vector<std::string>& errors;
  std::size_t label_hint = 0;  // labels a series ends up with, about
  void error(const std::string& message) { errors.push_back(metric.where + ": " + message); }
};

// A gauge's value from one element: nullopt to skip it (an error, when
// there is one, has been reported).
std::optional<double> gauge_value(Context& c, std::optional<element> it, bool report) {
  const EachSpec& e = c.metric.each;
  auto got = resolve(e.value_from, it);
  if (!got) {
    if (e.nil_is_zero) return 0.0;
    if (!it && report) c.error(e.path.describe() + ": got nil while resolving path");
    return std::nullopt;
  }
  std::string why;
  auto v = to_float64(*got, &why);
  if (!v && report) c.error(e.path.describe() + ": " + why);
  return v;
}

// A map key, without keyPrefix; nullopt when it lacks the prefix.
std::optional<std::string_view> map_key(const EachSpec& e, std::string_view key) {
  if (e.key_prefix.empty()) return key;
  if (!key.starts_with(e.key_prefix)) return std::nullopt;
  return key.substr(e.key_prefix.size());
}

// resourceUnits: a series per resource kube-state-metrics reports, with its
// unit and its quantity converted as kube-state-metrics converts it.
void resource_series(Context& c, element map) {
  const EachSpec& e = c.metric.each;
  bool node = e.resource_units == ResourceUnits::node;
  for (auto field : map.get_object()) {
    auto key = map_key(e, field.key);
    if (!key) continue;
    auto kind = kube_resource_class(*key, node);
    if (!kind) continue;
    std::optional<double> value;
    std::string_view text;
    if (field.value.get(text) == simdjson::SUCCESS) {
      value = resource_quantity(text, kind->whole);
    } else if (field.value.type() == element_type::INT64 || field.value.type() == element_type::UINT64) {
      value = to_float64(field.value);
    }
    if (!value) {
      c.error(e.path.describe() + ": " + std::string(*key) + ": expected a quantity, got " + go_format_value(field.value));
      continue;
    }
    Series s;
    s.labels.reserve(c.label_hint);
    s.labels.set(e.label_from_key, sanitize_label_name(*key));
    s.labels.set("unit", kind->unit);
    add_path_labels(e.labels, map, s.labels);
    s.value = *value;
    c.out.push_back(std::move(s));
  }
}

void gauge(Context& c, std::optional<element> v) {
  const EachSpec& e = c.metric.each;
  if (e.resource_units != ResourceUnits::none) {
    // As in kube-state-metrics' own families, no map is an empty one.
    if (v && v->type() == element_type::OBJECT) resource_series(c, *v);
    return;
  }
  if (v && v->type() == element_type::OBJECT) {
    bool single_key = e.value_from.steps().size() == 1 && !e.value_from.steps()[0].text.empty() &&
                      e.value_from.steps()[0].text.find(',') == std::string::npos;
    for (auto field : v->get_object()) {
      auto key = map_key(e, field.key);
      if (!key) continue;
      std::optional<double> value;
      if (single_key && field.key == e.value_from.steps()[0].text) {
        std::string why;
        value = to_float64(field.value, &why);
        if (!value) c.error(e.path.describe() + ": " + why);
      } else {
        // kube-state-metrics drops a map entry that does not convert
        // without a word; so do we (but it is still counted).
        value = gauge_value(c, is_null(field.value) ? std::nullopt : std::optional<element>(field.value), false);
      }
      if (!value) continue;
      Series s;
      s.labels.reserve(c.label_hint);
      if (!e.label_from_key.empty() && !key->empty()) s.labels.set(e.label_from_key, std::string(*key));
      add_path_labels(e.labels, field.value, s.labels);
      add_path_labels(e.labels, *v, s.labels);
      s.value = *value;
      c.out.push_back(std::move(s));
    }
    return;
  }
  if (v && v->type() == element_type::ARRAY) {
    for (auto item : v->get_array()) {
      auto value = gauge_value(c, is_null(item) ? std::nullopt : std::optional<element>(item), true);
      if (!value) continue;
      Series s;
      add_path_labels(e.labels, item, s.labels);
      s.value = *value;
      c.out.push_back(std::move(s));
    }
    return;
  }
  // A scalar with a valueFrom has nothing to read the value from.
  std::optional<double> value;
  if (v && !e.value_from.empty()) value = e.nil_is_zero ? std::optional<double>(0.0) : std::nullopt;
  else value = gauge_value(c, v, true);
  if (!value) return;
  Series s;
  add_path_labels(e.labels, v, s.labels);
  s.value = *value;
  c.out.push_back(std::move(s));
}

void state_set_values(Context& c, std::optional<element> x) {
  const EachSpec& e = c.metric.each;
  auto got = resolve(e.value_from, x);
  if (!got) return;
  std::string_view state;
  if (got->get(state) != simdjson::SUCCESS) {
    c.error(e.path.describe() + ": expected value for path to be string, got " + go_format_value(*got));
    return;
  }
  for (const auto& entry : e.list) {
    Series s;
    s.labels.reserve(c.label_hint);
    s.labels.set(e.label_name, entry);
    add_path_labels(e.labels, x, s.labels);
    s.value = state == entry ? 1 : 0;
    c.out.push_back(std::move(s));
  }
}

void info_values(Context& c, std::optional<element> x, const std::string* key) {
  const EachSpec& e = c.metric.each;
  if (!x && !key) return;
  Series s;
  if (key && !e.label_from_key.empty()) s.labels.set(e.label_from_key, *key);
  add_path_labels(e.labels, x, s.labels);
  if (s.labels.empty()) return;  // kube-state-metrics needs labels of its own
  // Room for the family's labels only now: most elements of a map make none.
  s.labels.reserve(c.label_hint);
  s.value = 1;
  c.out.push_back(std::move(s));
}

bool conditions_hold(const std::vector<Condition>& when, element object) {
  for (const auto& c : when) {
    auto v = c.path.get(object);
    switch (c.op) {
      case Condition::Op::exists:
        if (!v) return false;
        break;
      case Condition::Op::absent:
        if (v) return false;
        break;
      case Condition::Op::in:
      case Condition::Op::not_in: {
        // Strings, the usual case, are compared as they are, without a copy.
        std::string_view text;
        bool listed = false;
        if (v && c.ignore_case) {  // the values were lower-cased when the config was loaded
          std::string lowered = go_format_value(*v);
          for (auto& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          listed = std::find(c.values.begin(), c.values.end(), lowered) != c.values.end();
        } else if (v) {
          listed = v->get(text) == simdjson::SUCCESS
                       ? std::find(c.values.begin(), c.values.end(), text) != c.values.end()
                       : std::find(c.values.begin(), c.values.end(), go_format_value(*v)) != c.values.end();
        }
        if (listed != (c.op == Condition::Op::in)) return false;
        break;
      }
    }
  }
  return true;
}

void apply_label_rules(const std::vector<LabelRule>& rules, Labels& labels) {
  // Values are pointed at, not copied: one copy when a label is set (a
  // snapshot applies hundreds of thousands of rules).
  std::string rewritten;
  // Labels a rule removed: emptied now, erased together at the end.
  thread_local std::vector<std::string_view> emptied;
  emptied.clear();
  for (const auto& r : rules) {
    const std::string* source = labels.find(r.from);
    if (source && source->empty()) source = nullptr;
    const std::string* value = nullptr;
    if (r.if_present || r.if_absent) {
      const auto& chosen = source ? r.if_present : r.if_absent;
      if (chosen) value = &*chosen;
    } else if (source) {
      const std::string* v = source;
      if (r.lowercase || r.sanitize) {
        rewritten = *source;
        if (r.lowercase)
          for (auto& ch : rewritten) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (r.sanitize) rewritten = sanitize_label_name(rewritten);
        v = &rewritten;
      }
      if (r.map.empty()) {
        value = v;
      } else if (auto m = r.map.find(*v); m != r.map.end()) {
        value = &m->second;
      } else if (r.default_value) {
        value = &*r.default_value;
      } else if (r.from == r.label) {
        value = v;  // a value the map does not list stays as it is
      }
    } else if (r.default_value) {
      value = &*r.default_value;
    }
    // No value from this rule leaves the label as it is, so rules can
    // chain; an empty one removes it (helper labels go that way).
    if (!value) continue;
    if (value->empty()) {
      labels.empty_value(r.label);
      emptied.push_back(r.label);
    } else if (const std::string* now = labels.find(r.label); !now || *now != *value) {
      labels.set(r.label, *value);
    }
  }
  if (!emptied.empty()) labels.erase_emptied(emptied);
}

// The series of `each` with `root` as the object.
void each_series(Context& c, element root) {
  const MetricSpec& metric = c.metric;
  auto v = resolve(metric.each.path, root);
  switch (metric.each.type) {
    case EachType::gauge:
      gauge(c, v);
      break;
    case EachType::state_set:
      if (v && v->type() == element_type::ARRAY) {
        for (auto item : v->get_array()) state_set_values(c, is_null(item) ? std::nullopt : std::optional<element>(item));
      } else {
        state_set_values(c, v);
      }
      break;
    case EachType::info:
      if (v && v->type() == element_type::ARRAY) {
        for (auto item : v->get_array()) info_values(c, is_null(item) ? std::nullopt : std::optional<element>(item), nullptr);
      } else if (v && v->type() == element_type::OBJECT) {
        info_values(c, v, nullptr);
        for (auto field : v->get_object()) {
          auto k = map_key(c.metric.each, field.key);
          if (!k) continue;
          std::string key(*k);
          info_values(c, is_null(field.value) ? std::nullopt : std::optional<element>(field.value), &key);
        }
      } else {
        info_values(c, v, nullptr);
      }
      break;
    case EachType::transition:
      break;  // made of changes, not of objects (transitions.hpp)
  }
}

// labelsFromMap: the map's keys in sorted order, named as kube-state-metrics
// names them.
void add_map_labels(const MapLabels& m, element object, Labels& out) {
  auto map = m.paths.front().get(object);
  if (!map || map->type() != element_type::OBJECT) return;
  // Scratch space kept between objects.
  thread_local std::vector<std::pair<std::string_view, element>> fields;
  thread_local std::vector<std::string_view> keys;
  fields.clear();
  keys.clear();
  for (auto field : map->get_object()) fields.emplace_back(field.key, field.value);
  if (fields.empty()) return;
  std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& f : fields) keys.push_back(f.first);
  auto names = kube_map_label_names(m.prefix, keys);
  out.reserve(out.size() + names.size());
  for (std::size_t i = 0; i < names.size(); ++i) out.set(names[i], go_format_value(fields[i].second));
}

// variants: out[first..] replaced by one series per variant of each, in
// variant order.
void make_variants(const MetricSpec& metric, std::vector<Series>& out, std::size_t first,
                   std::vector<std::string>& errors) {
  thread_local std::vector<Series> made;
  made.clear();
  for (const Variant& v : metric.variants) {
    std::size_t begin = made.size();
    const bool last = &v == &metric.variants.back();
    for (std::size_t i = first; i < out.size(); ++i) {
      // The last variant takes the series itself rather than a copy.
      Series s = last ? std::move(out[i]) : out[i];
      for (const auto& [k, value] : v.common_labels) s.labels.set(k, value);
      apply_label_rules(v.label_rules, s.labels);
      made.push_back(std::move(s));
    }
    if (!v.value_from_label.empty() || !v.value_factors.empty())
      take_values_from_label(metric.where, v.value_from_label, v.value_factors, made, begin, errors);
  }
  out.resize(first);
  std::move(made.begin(), made.end(), std::back_inserter(out));
}

}  // namespace

void object_series(const MetricSpec& metric, element object, std::vector<Series>& out,
                   std::vector<std::string>& errors, const ObjectLookup* lookups) {
  if (metric.each.type == EachType::transition) return;  // made of changes, not of objects
  // With otherwise, an object that does not count still makes its series.
  const bool counts = conditions_hold(metric.when, object);
  if (!counts && !metric.otherwise) return;
  // Room for the labels a series gets, so that adding them does not grow it.
  std::size_t hint = metric.common_labels.size() + metric.labels.size() + metric.each.labels.size() + 2;
  if (metric.for_each) hint += metric.for_each->labels.size();
  if (metric.for_each && metric.for_each->join) hint += metric.for_each->join->labels.size();
  Context c{metric, out, errors, hint};
  std::size_t first = out.size();
  if (metric.for_each) {
    auto list = metric.for_each->path.get(object);
    if (list && list->type() == element_type::ARRAY) {
      Labels element_labels, joined;
      const auto& join = metric.for_each->join;
      for (auto item : list->get_array()) {
        if (is_null(item) || !conditions_hold(metric.for_each->when, item)) continue;
        std::optional<element> partner;
        if (join) {
          partner = joined_element(*join, object, item);
          if (partner && !conditions_hold(join->when, *partner)) partner.reset();
          if (!partner && !join->optional) continue;
        }
        if (!metric.lookups.empty() && !lookup_labels(metric, lookups, object, item, joined)) continue;
        std::size_t from = out.size();
        each_series(c, item);
        if (out.size() == from) continue;
        element_labels.clear();
        // The partner's labels rank below the element's own.
        if (partner) add_path_labels(join->labels, partner, element_labels);
        add_path_labels(metric.for_each->labels, item, element_labels);
        // The element's labels, then those looked up for it.
        for (std::size_t i = from; i < out.size(); ++i) {
          for (const auto& [k, v2] : element_labels) out[i].labels.add(k, v2);
          for (const auto& [k, v2] : joined) out[i].labels.add(k, v2);
        }
      }
    }
  } else {
    Labels joined;
    if (!metric.lookups.empty() && !lookup_labels(metric, lookups, object, object, joined)) return;
    each_series(c, object);
    for (std::size_t i = first; i < out.size(); ++i)
      for (const auto& [k, v2] : joined) out[i].labels.add(k, v2);
  }
  if (metric.reduce) reduce_object_series(*metric.reduce, out, first);
  if (out.size() == first) return;
  // Labels the series do not set come from the family: labelsFromPath
  // against the object, over labelsFromMap, over commonLabels.
  Labels family(metric.common_labels);
  family.reserve(metric.common_labels.size() + metric.labels.size());
  // A labelsFromMap beyond kube-state-metrics' is made for each series,
  // between labelsFromPath (`upper`) and commonLabels (map_labels.hpp).
  const MapLabels* series_map = metric.map_labels && !metric.map_labels->plain() ? &*metric.map_labels : nullptr;
  if (metric.map_labels && !series_map) add_map_labels(*metric.map_labels, object, family);
  Labels upper;
  add_path_labels(metric.labels, object, series_map ? upper : family);
  std::size_t kept = first;
  for (std::size_t i = first; i < out.size(); ++i) {
    if (series_map) {
      out[i].labels.add_all(upper);
      if (add_series_map_labels(*series_map, object, family, out[i].labels) == 0 && series_map->required) continue;
    } else {
      out[i].labels.add_all(family);
    }
    apply_label_rules(metric.label_rules, out[i].labels);
    if (!counts) out[i].value = *metric.otherwise;
    if (kept != i) out[kept] = std::move(out[i]);
    ++kept;
  }
  out.resize(kept);
  if (!metric.variants.empty()) {
    make_variants(metric, out, first, errors);
  } else if (!metric.value_from_label.empty() || !metric.value_factors.empty()) {
    take_values_from_label(metric, out, first, errors);
  }
  if (!metric.drop_labels.empty())
    for (std::size_t i = first; i < out.size(); ++i) out[i].labels.erase_named(metric.drop_labels);
}

bool meets_conditions(const MetricSpec& metric, element object) { return conditions_hold(metric.when, object); }

bool meets_conditions(const std::vector<Condition>& when, element object) { return conditions_hold(when, object); }

void add_labels_from_paths(const LabelPaths& paths, element from, LabelSet& labels) {
  add_path_labels(paths, from, labels);
}

LabelSet transition_labels(const MetricSpec& metric, element object, std::string_view value,
                           std::string_view previous) {
  Labels labels(metric.common_labels);
  add_path_labels(metric.labels, object, labels);
  // The values are the series' own labels: they win over the family's.
  if (!value.empty()) labels.set(metric.each.label_name, std::string(value));
  if (!previous.empty() && !metric.each.transition.previous_label.empty())
    labels.set(metric.each.transition.previous_label, std::string(previous));
  apply_label_rules(metric.label_rules, labels);
  return labels;
}

void aggregate_series(const Aggregation& a, std::vector<Series>& series) {
  std::map<Labels, std::pair<double, std::size_t>> groups;
  for (const auto& s : series) {
    Labels key;
    for (const auto& name : a.by)
      if (const std::string* v = s.labels.find(name)) key.add(name, *v);
    auto [it, inserted] = groups.try_emplace(key, s.value, 0);
    auto& [acc, n] = it->second;
    ++n;
    if (inserted) continue;
    switch (a.op) {
      case Aggregation::Op::count: break;
      case Aggregation::Op::sum: acc += s.value; break;
      case Aggregation::Op::max: acc = std::max(acc, s.value); break;
      case Aggregation::Op::min: acc = std::min(acc, s.value); break;
    }
  }
  series.clear();
  for (auto& [labels, acc] : groups)
    series.push_back({labels, a.op == Aggregation::Op::count ? static_cast<double>(acc.second) : acc.first});
  // A total over nothing is 0, not absent: "no migrations are running".
  if (series.empty() && a.by.empty() && (a.op == Aggregation::Op::count || a.op == Aggregation::Op::sum))
    series.push_back({{}, 0});
}

}  // namespace kv::watch::crs
