#include "kv-watch/crs_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "metric_model.hpp"

namespace kv::watch::crs {
namespace {

std::string at(const std::string& file, const YAML::Node& n) {
  auto m = n.Mark();
  return m.line < 0 ? file : file + ":" + std::to_string(m.line + 1);
}

// Keys kube-state-metrics reads; others are reported and ignored, as it
// ignores them, so that its configs keep working here.
void check_keys(const YAML::Node& map, std::initializer_list<const char*> known, const std::string& file,
                const std::string& entry, std::vector<std::string>& warnings) {
  for (const auto& kv : map) {
    std::string key = kv.first.Scalar();
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      std::string hint;
      for (const char* k : known) {
        std::string a = key, b = k;
        std::transform(a.begin(), a.end(), a.begin(), ::tolower);
        std::transform(b.begin(), b.end(), b.begin(), ::tolower);
        if (a == b) hint = " (keys are case-sensitive: " + std::string(k) + ")";
      }
      warnings.push_back(at(file, kv.first) + ": " + entry + ": unknown key \"" + key + "\" ignored" + hint);
    }
  }
}

std::string scalar(const YAML::Node& n, const std::string& file, const std::string& what) {
  if (!n || n.IsNull()) return {};
  if (!n.IsScalar()) throw ConfigError(at(file, n) + ": " + what + " must be a string");
  return n.Scalar();
}

std::vector<std::string> string_list(const YAML::Node& n, const std::string& file, const std::string& what) {
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence())
    throw ConfigError(at(file, n) + ": " + what + " must be a list of strings, like [status, phase]");
  for (const auto& item : n) {
    if (item.IsNull()) continue;  // as kube-state-metrics drops them
    if (!item.IsScalar())
      throw ConfigError(at(file, item) + ": " + what + ": each element must be a string (quote \"[k=v]\" filters)");
    out.push_back(item.Scalar());
  }
  return out;
}

ValuePath path_of(const YAML::Node& n, const std::string& file, const std::string& what) {
  try {
    return ValuePath::compile(string_list(n, file, what));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(at(file, n) + ": " + what + ": " + e.what() + " (a list filter is [key=value])");
  }
}

LabelPaths label_paths(const YAML::Node& n, const std::string& file, const std::string& what) {
  LabelPaths out;
  if (!n || n.IsNull()) return out;
  if (!n.IsMap()) throw ConfigError(at(file, n) + ": " + what + " must map label names to paths");
  for (const auto& kv : n) out.emplace_back(kv.first.Scalar(), path_of(kv.second, file, what + "." + kv.first.Scalar()));
  return out;
}

std::map<std::string, std::string> string_map(const YAML::Node& n, const std::string& file, const std::string& what) {
  std::map<std::string, std::string> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsMap()) throw ConfigError(at(file, n) + ": " + what + " must map label names to values");
  for (const auto& kv : n) out[kv.first.Scalar()] = kv.second.IsNull() ? "" : scalar(kv.second, file, what);
  return out;
}

bool boolean(const YAML::Node& n, const std::string& file, const std::string& what) {
  if (!n || n.IsNull()) return false;
  bool v;
  // A quoted "true" is a string to kube-state-metrics' decoder, not a bool.
  if (!n.IsScalar() || n.Tag() == "!" || !YAML::convert<bool>::decode(n, v))
    throw ConfigError(at(file, n) + ": " + what + " must be true or false");
  return v;
}

// A list of paths ([[a, b], [c]]), none empty: `where` starts the messages
// about an element ("FILE:LINE: " then where, ": ", then `each_must` or
// "an empty path"), `what` names it for path_of.
std::vector<ValuePath> path_list(const YAML::Node& list, const std::string& file, const std::string& where,
                                 const std::string& what, const char* each_must) {
  std::vector<ValuePath> out;
  for (const auto& p : list) {
    if (!p.IsSequence()) throw ConfigError(at(file, p) + ": " + where + ": " + each_must);
    out.push_back(path_of(p, file, what));
    if (out.back().empty()) throw ConfigError(at(file, p) + ": " + where + ": an empty path");
  }
  return out;
}

bool is_label_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// A path that must be given: `what` says what it is for, in the message
// when it is missing.
ValuePath required_path(const YAML::Node& parent, const char* key, const std::string& file, const std::string& w,
                        const std::string& what) {
  ValuePath p = path_of(parent[key], file, w + "." + key);
  if (p.empty()) throw ConfigError(at(file, parent) + ": " + w + ": " + key + " is missing (" + what + ")");
  return p;
}

// The label names a Transition gives: names Prometheus takes, and not le,
// which its histogram buckets use.
std::string transition_label(const YAML::Node& body, const char* key, const std::string& file,
                             const std::string& w) {
  std::string name = scalar(body[key], file, w + "." + key);
  if (!body[key]) return name;
  if (!is_label_name(name) || name.starts_with("__") || name == "le")
    throw ConfigError(at(file, body[key]) + ": " + w + ": " + key + " must be a label name other than le, not \"" +
                      name + "\"");
  return name;
}

EachSpec parse_transition(const YAML::Node& body, const std::string& file, const std::string& w,
                          std::vector<std::string>& warnings) {
  check_keys(body, {"path", "timestamps", "from", "fromUnset", "labelName", "previousLabelName", "buckets"}, file, w,
             warnings);
  EachSpec spec;
  spec.type = EachType::transition;
  TransitionSpec& t = spec.transition;
  spec.path = required_path(body, "path", file, w, "the value whose changes are observed, like [status, phase]");
  auto ts = body["timestamps"];
  if (!ts || !ts.IsMap())
    throw ConfigError(at(file, ts ? ts : body) + ": " + w +
                      ": timestamps must be a mapping of path (a list), key and time (in each element), like "
                      "{path: [status, phaseTransitionTimestamps], key: [phase], time: [phaseTransitionTimestamp]}");
  check_keys(ts, {"path", "key", "time"}, file, w + ".timestamps", warnings);
  t.list = required_path(ts, "path", file, w + ".timestamps", "the list of times a value was entered");
  t.key = required_path(ts, "key", file, w + ".timestamps", "the value an element is about, from the element");
  t.time = required_path(ts, "time", file, w + ".timestamps", "when the value was entered, from the element");
  auto from = body["from"];
  if (!from || from.IsNull())
    throw ConfigError(at(file, body) + ": " + w +
                      ": from is missing (previous, or the path of a timestamp like [metadata, creationTimestamp])");
  if (from.IsScalar()) {
    if (from.Scalar() != "previous")
      throw ConfigError(at(file, from) + ": " + w + ": from must be previous or a path like [metadata, "
                        "creationTimestamp], not \"" + from.Scalar() + "\"");
    t.from_previous = true;
  } else {
    t.from = path_of(from, file, w + ".from");
    if (t.from.empty()) throw ConfigError(at(file, from) + ": " + w + ": from is an empty path");
  }
  t.from_unset = path_of(body["fromUnset"], file, w + ".fromUnset");
  spec.label_name = transition_label(body, "labelName", file, w);
  if (spec.label_name.empty())
    throw ConfigError(at(file, body) + ": " + w + ": labelName is missing (the label that names the new value)");
  t.previous_label = transition_label(body, "previousLabelName", file, w);
  if (t.previous_label == spec.label_name)
    throw ConfigError(at(file, body["previousLabelName"]) + ": " + w +
                      ": previousLabelName and labelName are the same label");
  auto buckets = body["buckets"];
  if (!buckets || !buckets.IsSequence() || buckets.size() == 0)
    throw ConfigError(at(file, buckets ? buckets : body) + ": " + w +
                      ": buckets must be a list of the histogram's upper bounds in seconds, like [0.5, 1, 5]");
  for (const auto& b : buckets) {
    std::string text = b.IsScalar() ? b.Scalar() : std::string();
    char* end = nullptr;
    double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
      throw ConfigError(at(file, b) + ": " + w + ": a bucket bound must be a finite number, not \"" + text + "\"");
    if (!t.buckets.empty() && v <= t.buckets.back())
      throw ConfigError(at(file, b) + ": " + w + ": bucket bounds must increase; " + text + " comes after " +
                        go_format_float(t.buckets.back()));
    t.buckets.push_back(v);
  }
  return spec;
}

EachSpec parse_each(const YAML::Node& each, const std::string& file, const std::string& entry,
                    std::vector<std::string>& warnings) {
  if (!each || !each.IsMap()) throw ConfigError(at(file, each) + ": " + entry + ": \"each\" is missing");
  check_keys(each, {"type", "gauge", "stateSet", "info", "transition"}, file, entry + " each", warnings);
  std::string given = scalar(each["type"], file, entry + " each.type");
  std::string type = given;
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  EachSpec spec;
  YAML::Node body;
  if (type == "gauge") {
    spec.type = EachType::gauge;
    body = each["gauge"];
  } else if (type == "stateset") {
    spec.type = EachType::state_set;
    body = each["stateSet"];
  } else if (type == "info") {
    spec.type = EachType::info;
    body = each["info"];
  } else if (type == "transition") {
    spec.type = EachType::transition;
    body = each["transition"];
  } else {
    throw ConfigError(at(file, each) + ": " + entry + ": unknown metric type \"" + given +
                      "\" (want Gauge, StateSet, Info or Transition)");
  }
  std::string block = type == "stateset" ? "stateSet" : type;
  if (!body || !body.IsMap())
    throw ConfigError(at(file, each) + ": " + entry + ": each." + block + " is missing");
  std::string w = entry + " each." + block;
  if (spec.type == EachType::transition) return parse_transition(body, file, w, warnings);
  switch (spec.type) {
    case EachType::gauge:
      check_keys(body, {"path", "labelsFromPath", "valueFrom", "nilIsZero", "labelFromKey", "keyPrefix", "resourceUnits"},
                 file, w, warnings);
      break;
    case EachType::state_set:
      check_keys(body, {"path", "labelsFromPath", "valueFrom", "labelName", "list"}, file, w, warnings);
      break;
    case EachType::info:
      check_keys(body, {"path", "labelsFromPath", "labelFromKey", "keyPrefix"}, file, w, warnings);
      break;
    case EachType::transition:
      break;
  }
  spec.path = path_of(body["path"], file, w + ".path");
  spec.labels = label_paths(body["labelsFromPath"], file, w + ".labelsFromPath");
  spec.value_from = path_of(body["valueFrom"], file, w + ".valueFrom");
  spec.label_from_key = scalar(body["labelFromKey"], file, w + ".labelFromKey");
  spec.nil_is_zero = boolean(body["nilIsZero"], file, w + ".nilIsZero");
  spec.label_name = scalar(body["labelName"], file, w + ".labelName");
  spec.list = string_list(body["list"], file, w + ".list");
  if (spec.type == EachType::state_set && spec.label_name.empty())
    throw ConfigError(at(file, body) + ": " + w + ": labelName is required (the label that names the state)");
  // The extensions.
  if (spec.type != EachType::state_set) {
    spec.key_prefix = scalar(body["keyPrefix"], file, w + ".keyPrefix");
    if (body["keyPrefix"] && spec.label_from_key.empty())
      throw ConfigError(at(file, body["keyPrefix"]) + ": " + w +
                        ": keyPrefix selects map keys for labelFromKey, which is missing");
  }
  if (spec.type == EachType::gauge && body["resourceUnits"]) {
    auto n = body["resourceUnits"];
    std::string units = scalar(n, file, w + ".resourceUnits");
    if (units == "container") spec.resource_units = ResourceUnits::container;
    else if (units == "node") spec.resource_units = ResourceUnits::node;
    else throw ConfigError(at(file, n) + ": " + w + ": resourceUnits must be container or node, not \"" + units + "\"");
    if (spec.label_from_key.empty())
      throw ConfigError(at(file, n) + ": " + w +
                        ": resourceUnits needs labelFromKey (the label that names the resource)");
    if (!spec.value_from.empty())
      throw ConfigError(at(file, n) + ": " + w +
                        ": resourceUnits reads the map's values as quantities; valueFrom cannot be used with it");
  }
  return spec;
}

// Label names from plain labelsFromPath keys are sanitised once here, not
// for every object; "*" keys keep their form (their prefix is sanitised with
// each copied key). Sorted by name too (stable: of two keys that sanitise
// alike the later still wins), so that a series' labels are appended in
// order rather than inserted.
void sanitize_plain_keys(LabelPaths& paths) {
  for (auto& [key, _] : paths)
    if (key.empty() || !(key.front() == '*' || key.back() == '*')) key = sanitize_label_name(key);
  std::stable_sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

// kube-state-metrics' decoder refuses a key given twice in one mapping;
// yaml-cpp would quietly keep one of them.
void refuse_duplicate_keys(const YAML::Node& node, const std::string& file) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!seen.insert(kv.first.Scalar()).second)
        throw ConfigError(at(file, kv.first) + ": key \"" + kv.first.Scalar() + "\" appears twice in one mapping");
      refuse_duplicate_keys(kv.second, file);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) refuse_duplicate_keys(item, file);
  }
}

std::vector<Condition> parse_when(const YAML::Node& n, const std::string& file, const std::string& entry,
                                  std::vector<std::string>& warnings) {
  std::vector<Condition> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence()) throw ConfigError(at(file, n) + ": " + entry + ": when must be a list of conditions");
  for (const auto& c : n) {
    if (!c.IsMap()) throw ConfigError(at(file, c) + ": " + entry + ": a when condition must be a mapping");
    check_keys(c, {"path", "in", "notIn", "exists", "ignoreCase"}, file, entry + " when", warnings);
    Condition cond;
    cond.path = path_of(c["path"], file, entry + " when.path");
    int ops = 0;
    if (c["in"]) {
      cond.op = Condition::Op::in;
      cond.values = string_list(c["in"], file, entry + " when.in");
      ++ops;
    }
    if (c["notIn"]) {
      cond.op = Condition::Op::not_in;
      cond.values = string_list(c["notIn"], file, entry + " when.notIn");
      ++ops;
    }
    if (c["exists"]) {
      cond.op = boolean(c["exists"], file, entry + " when.exists") ? Condition::Op::exists : Condition::Op::absent;
      ++ops;
    }
    if (ops != 1) throw ConfigError(at(file, c) + ": " + entry + ": a when condition needs one of in, notIn, exists");
    if (auto ic = c["ignoreCase"]; ic && !ic.IsNull()) {
      cond.ignore_case = boolean(ic, file, entry + " when.ignoreCase");
      if (c["exists"])
        throw ConfigError(at(file, ic) + ": " + entry + ": ignoreCase goes with in or notIn, not with exists");
      if (cond.ignore_case)
        for (auto& v : cond.values) std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    }
    out.push_back(std::move(cond));
  }
  return out;
}

std::vector<LabelRule> parse_label_rules(const YAML::Node& n, const std::string& file, const std::string& entry,
                                         std::vector<std::string>& warnings) {
  std::vector<LabelRule> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence()) throw ConfigError(at(file, n) + ": " + entry + ": labelValues must be a list of rules");
  for (const auto& r : n) {
    // A list in place of a rule is its rules, so that a YAML anchor can
    // share a run of rules between metrics.
    if (r.IsSequence()) {
      for (auto& rule : parse_label_rules(r, file, entry, warnings)) out.push_back(std::move(rule));
      continue;
    }
    if (!r.IsMap())
      throw ConfigError(at(file, r) + ": " + entry + ": a labelValues rule must be a mapping (or a list of rules)");
    check_keys(r, {"label", "from", "lowercase", "sanitize", "map", "default", "ifPresent", "ifAbsent"}, file,
               entry + " labelValues", warnings);
    LabelRule rule;
    rule.label = scalar(r["label"], file, entry + " labelValues.label");
    if (rule.label.empty()) throw ConfigError(at(file, r) + ": " + entry + ": a labelValues rule needs a label");
    rule.from = scalar(r["from"], file, entry + " labelValues.from");
    if (rule.from.empty()) rule.from = rule.label;
    rule.lowercase = boolean(r["lowercase"], file, entry + " labelValues.lowercase");
    rule.sanitize = boolean(r["sanitize"], file, entry + " labelValues.sanitize");
    for (auto& [k, v] : string_map(r["map"], file, entry + " labelValues.map")) rule.map.emplace(k, std::move(v));
    if (r["default"]) rule.default_value = scalar(r["default"], file, entry + " labelValues.default");
    if (r["ifPresent"]) rule.if_present = scalar(r["ifPresent"], file, entry + " labelValues.ifPresent");
    if (r["ifAbsent"]) rule.if_absent = scalar(r["ifAbsent"], file, entry + " labelValues.ifAbsent");
    out.push_back(std::move(rule));
  }
  return out;
}

// forEach.join (an extension): the list to pair each element with.
std::optional<ListJoin> parse_join(const YAML::Node& n, const std::string& file, const std::string& entry,
                                   std::vector<std::string>& warnings) {
  if (!n || n.IsNull()) return std::nullopt;
  const std::string w = entry + " forEach.join";
  if (!n.IsMap())
    throw ConfigError(at(file, n) + ": " + w + " must be a mapping of path, key and on, like "
                      "{path: [spec, networks], key: [name], on: [name]}");
  check_keys(n, {"path", "key", "on", "when", "labelsFromPath", "optional"}, file, w, warnings);
  ListJoin j;
  j.path = required_path(n, "path", file, w, "the list to join with, from the object, like [spec, networks]");
  j.key = required_path(n, "key", file, w, "the value of its elements to match, like [name]");
  j.on = path_of(n["on"], file, w + ".on");
  if (j.on.empty()) j.on = j.key;  // the same field on both sides
  j.when = parse_when(n["when"], file, w, warnings);
  j.labels = label_paths(n["labelsFromPath"], file, w + ".labelsFromPath");
  sanitize_plain_keys(j.labels);
  j.optional = boolean(n["optional"], file, w + ".optional");
  return j;
}

std::optional<ForEach> parse_for_each(const YAML::Node& n, const std::string& file, const std::string& entry,
                                      std::vector<std::string>& warnings) {
  if (!n || n.IsNull()) return std::nullopt;
  if (!n.IsMap()) throw ConfigError(at(file, n) + ": " + entry + ": forEach must be a mapping with a path");
  check_keys(n, {"path", "labelsFromPath", "when", "join"}, file, entry + " forEach", warnings);
  ForEach f;
  f.path = path_of(n["path"], file, entry + " forEach.path");
  if (f.path.empty()) throw ConfigError(at(file, n) + ": " + entry + ": forEach.path is missing (the path to a list)");
  f.labels = label_paths(n["labelsFromPath"], file, entry + " forEach.labelsFromPath");
  sanitize_plain_keys(f.labels);
  f.when = parse_when(n["when"], file, entry + " forEach", warnings);
  f.join = parse_join(n["join"], file, entry, warnings);
  return f;
}

std::optional<MapLabels> parse_map_labels(const YAML::Node& n, const std::string& file, const std::string& entry,
                                          std::vector<std::string>& warnings) {
  if (!n || n.IsNull()) return std::nullopt;
  if (!n.IsMap()) throw ConfigError(at(file, n) + ": " + entry + ": labelsFromMap must be a mapping with a path and a prefix");
  const std::string w = entry + " labelsFromMap";
  check_keys(n, {"path", "prefix", "naming", "allowFromLabel", "ignoreFromLabel", "required"}, file, w, warnings);
  MapLabels m;
  // A path, or a list of paths whose maps are merged (as lookup's name).
  auto path = n["path"];
  if (path && path.IsSequence() && path.size() > 0 && path[0].IsSequence()) {
    m.paths = path_list(path, file, w + ".path", w + ".path",
                        "each of several paths must be a path, like [metadata, labels]");
  } else {
    m.paths.push_back(path_of(path, file, w + ".path"));
    if (m.paths.back().empty())
      throw ConfigError(at(file, n) + ": " + entry + ": labelsFromMap.path is missing (the path to a map, like [metadata, labels])");
  }
  m.prefix = scalar(n["prefix"], file, w + ".prefix");
  if (!is_label_name(m.prefix) || m.prefix.starts_with("__"))
    throw ConfigError(at(file, n) + ": " + entry + ": labelsFromMap.prefix must be a label name, like label, not \"" +
                      m.prefix + "\"");
  if (auto naming = n["naming"]; naming && !naming.IsNull()) {
    std::string v = scalar(naming, file, w + ".naming");
    if (v == "kube-state") m.naming = MapLabels::Naming::kube_state;
    else if (v == "sanitize") m.naming = MapLabels::Naming::sanitize;
    else throw ConfigError(at(file, naming) + ": " + w + ": naming must be kube-state or sanitize, not \"" + v + "\"");
  }
  for (auto [key, field] : {std::pair{"allowFromLabel", &m.allow_from_label},
                            std::pair{"ignoreFromLabel", &m.ignore_from_label}}) {
    auto v = n[key];
    if (!v || v.IsNull()) continue;
    *field = scalar(v, file, w + "." + key);
    if (!is_label_name(*field) || field->starts_with("__"))
      throw ConfigError(at(file, v) + ": " + w + ": " + key +
                        " must be the name of a label that holds a comma-separated list of keys, not \"" + *field +
                        "\"");
  }
  if (!m.allow_from_label.empty() && m.allow_from_label == m.ignore_from_label)
    throw ConfigError(at(file, n["ignoreFromLabel"]) + ": " + w +
                      ": allowFromLabel and ignoreFromLabel are the same label (" + m.allow_from_label + ")");
  m.required = boolean(n["required"], file, w + ".required");
  return m;
}

std::optional<Aggregation> parse_aggregate(const YAML::Node& n, const std::string& file, const std::string& entry,
                                           std::vector<std::string>& warnings) {
  if (!n || n.IsNull()) return std::nullopt;
  if (!n.IsMap()) throw ConfigError(at(file, n) + ": " + entry + ": aggregate must be a mapping");
  check_keys(n, {"op", "by"}, file, entry + " aggregate", warnings);
  Aggregation a;
  std::string op = scalar(n["op"], file, entry + " aggregate.op");
  if (op == "count") a.op = Aggregation::Op::count;
  else if (op == "sum") a.op = Aggregation::Op::sum;
  else if (op == "max") a.op = Aggregation::Op::max;
  else if (op == "min") a.op = Aggregation::Op::min;
  else throw ConfigError(at(file, n) + ": " + entry + ": aggregate.op must be count, sum, max or min, not \"" + op + "\"");
  a.by = string_list(n["by"], file, entry + " aggregate.by");
  return a;
}

// A lookup's fieldSelector, as the API server reads one: terms joined by
// commas, each field=value, field==value or field!=value, the field a dotted
// path such as metadata.name. Set-based terms (in, notin) are not field
// selectors.
std::vector<FieldTerm> parse_field_selector(const YAML::Node& n, const std::string& text, const std::string& file,
                                            const std::string& w) {
  std::vector<FieldTerm> out;
  auto bad = [&](const std::string& term, const std::string& why) {
    return ConfigError(at(file, n) + ": " + w + ": fieldSelector: \"" + term + "\" " + why +
                       " (want field=value, field==value or field!=value, joined by commas, like "
                       "metadata.name=kubevirt-vm-labels-config)");
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = std::min(text.find(',', start), text.size());
    std::string term = text.substr(start, comma - start);
    start = comma + 1;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    FieldTerm t;
    std::size_t op = term.find("!="), len = 2;
    if (op != std::string::npos) t.equal = false;
    else if ((op = term.find("==")) == std::string::npos) op = term.find('='), len = 1;
    if (op == std::string::npos) throw bad(term, "has no =, == or !=");
    std::string field = trim(term.substr(0, op));
    t.value = trim(term.substr(op + len));
    if (field.empty()) throw bad(term, "has no field");
    std::vector<std::string> parts;
    for (std::size_t b = 0; b <= field.size();) {
      std::size_t dot = std::min(field.find('.', b), field.size());
      parts.push_back(field.substr(b, dot - b));
      b = dot + 1;
    }
    for (const auto& p : parts)
      if (p.empty() || !std::all_of(p.begin(), p.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
        throw bad(term, "has a field that is not a dotted path like metadata.name");
    t.path = ValuePath::compile(parts);
    out.push_back(std::move(t));
  }
  return out;
}

// lookup (kv-watch's own, so an unknown key is an error, not ignored): the
// other objects a metric reads, each by key or as a resource's singleton.
std::vector<LookupSpec> parse_lookups(const YAML::Node& n, const std::string& file, const std::string& entry,
                                      std::vector<std::string>& warnings) {
  std::vector<LookupSpec> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence())
    throw ConfigError(at(file, n) + ": " + entry + ": lookup must be a list of mappings, each with groupVersionKind");
  static const std::vector<std::string> known{"groupVersionKind", "resourcePlural", "namespace", "name",
                                              "fieldSelector", "if", "when", "labelsFromPath", "optional"};
  for (const auto& l : n) {
    std::string w = entry + " lookup";
    if (!l.IsMap()) throw ConfigError(at(file, l) + ": " + w + ": each lookup must be a mapping with groupVersionKind");
    for (const auto& kv : l)
      if (std::find(known.begin(), known.end(), kv.first.Scalar()) == known.end())
        throw ConfigError(at(file, kv.first) + ": " + w + ": unknown key \"" + kv.first.Scalar() +
                          "\" (a lookup has groupVersionKind, resourcePlural, namespace, name, fieldSelector, if, when, "
                          "labelsFromPath, optional)");
    LookupSpec spec;
    spec.where = at(file, l) + ": " + w;
    auto gvk = l["groupVersionKind"];
    if (!gvk || !gvk.IsMap())
      throw ConfigError(at(file, gvk ? gvk : YAML::Node(l)) + ": " + w +
                        ": groupVersionKind must be a mapping, like {group: kubevirt.io, version: v1, kind: KubeVirt}");
    for (const auto& kv : gvk)
      if (kv.first.Scalar() != "group" && kv.first.Scalar() != "version" && kv.first.Scalar() != "kind")
        throw ConfigError(at(file, kv.first) + ": " + w + ": groupVersionKind: unknown key \"" + kv.first.Scalar() +
                          "\" (want group, version, kind)");
    spec.group = scalar(gvk["group"], file, w + " groupVersionKind.group");
    spec.version = scalar(gvk["version"], file, w + " groupVersionKind.version");
    spec.kind = scalar(gvk["kind"], file, w + " groupVersionKind.kind");
    if (spec.version.empty() || spec.kind.empty())
      throw ConfigError(at(file, gvk) + ": " + w + ": groupVersionKind needs a version and a kind");
    spec.plural = scalar(l["resourcePlural"], file, w + " resourcePlural");
    auto ns = l["namespace"];
    spec.namespace_path = ns ? path_of(ns, file, w + " namespace") : ValuePath::compile({"metadata", "namespace"});
    if (ns && spec.namespace_path.empty()) throw ConfigError(at(file, ns) + ": " + w + ": namespace is an empty path");
    auto name = l["name"];
    if (name && !name.IsNull()) {
      if (!name.IsSequence() || name.size() == 0)
        throw ConfigError(at(file, name) + ": " + w +
                          ": name must be a path like [spec, claimName], or a list of paths tried in order");
      if (name[0].IsSequence()) {
        spec.name = path_list(name, file, w + ": name", w + " name",
                              "each alternative must be a path, like [dataVolume, name]");
      } else {
        spec.name.push_back(path_of(name, file, w + " name"));
      }
    } else if (ns) {
      throw ConfigError(at(file, ns) + ": " + w + ": namespace without name (a lookup without name is the "
                        "resource's one object that meets when)");
    }
    if (auto fs = l["fieldSelector"]; fs && !fs.IsNull()) {
      spec.field_selector = scalar(fs, file, w + " fieldSelector");
      spec.selector = parse_field_selector(fs, spec.field_selector, file, w);
    }
    spec.only_if = parse_when(l["if"], file, w + " if", warnings);
    if (!spec.only_if.empty() && spec.name.empty())
      throw ConfigError(at(file, l["if"]) + ": " + w + ": if without name (a lookup without name is the resource's "
                        "one object, the same for every object)");
    spec.when = parse_when(l["when"], file, w, warnings);
    spec.labels = label_paths(l["labelsFromPath"], file, w + " labelsFromPath");
    sanitize_plain_keys(spec.labels);
    spec.optional = boolean(l["optional"], file, w + " optional");
    out.push_back(std::move(spec));
  }
  return out;
}

// The resources lookups read: those the config has no entry for are
// watched without metrics, and every entry for them keeps what the
// lookups read.
void add_lookup_targets(MetricsConfig& config) {
  std::vector<ResourceSpec> added;
  for (const auto& r : config.resources)
    for (const auto& m : r.metrics)
      for (const auto& l : m.lookups) {
        auto same = [&](const ResourceSpec& t) {
          return t.group == l.group && t.version == l.version && t.kind == l.kind;
        };
        if (std::none_of(config.resources.begin(), config.resources.end(), same) &&
            std::none_of(added.begin(), added.end(), same)) {
          ResourceSpec t;
          t.group = l.group;
          t.version = l.version;
          t.kind = l.kind;
          t.plural = l.plural;
          t.where = l.where;
          t.lookup_only = true;
          added.push_back(std::move(t));
        }
        auto keep = [&](ResourceSpec& t) {
          if (!same(t)) return;
          for (const auto& [_, p] : l.labels) t.looked_up_paths.push_back(p);
          for (const auto& c : l.when) t.looked_up_paths.push_back(c.path);
          for (const auto& f : l.selector) t.looked_up_paths.push_back(f.path);
        };
        for (auto& t : config.resources) keep(t);
        for (auto& t : added) keep(t);
      }
  // A resource read by lookups alone is listed with their fieldSelector
  // when they all give the same one; otherwise (several, or a lookup
  // without one) it is cached whole and each lookup selects its objects.
  for (auto& t : added) {
    std::optional<std::string> common;
    for (const auto& r : config.resources)
      for (const auto& m : r.metrics)
        for (const auto& l : m.lookups) {
          if (l.group != t.group || l.version != t.version || l.kind != t.kind) continue;
          if (!common) common = l.field_selector;
          else if (*common != l.field_selector) common = "";
        }
    t.field_selector = common.value_or("");
  }
  for (auto& t : added) config.resources.push_back(std::move(t));
}

// A number in the config: finite, and not quoted.
double number(const YAML::Node& n, const std::string& file, const std::string& what) {
  std::string text = n.IsScalar() && n.Tag() != "!" ? n.Scalar() : std::string();
  char* end = nullptr;
  double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
    std::string got = !n.IsScalar() ? std::string("a ") + (n.IsMap() ? "mapping" : "list")
                      : n.Tag() == "!" ? "the string \"" + n.Scalar() + "\" (quoted)"
                                       : "\"" + n.Scalar() + "\"";
    throw ConfigError(at(file, n) + ": " + what + " must be a number, not " + got);
  }
  return v;
}

// The per-object extensions of a metric: reduce, otherwise, sampleType.
void parse_object_extensions(MetricSpec& spec, const YAML::Node& m, const std::string& file,
                             const std::string& entry, std::vector<std::string>& warnings) {
  if (auto n = m["reduce"]; n && !n.IsNull()) {
    if (!n.IsMap())
      throw ConfigError(at(file, n) + ": " + entry + ": reduce must be a mapping with an op, like {op: max}");
    check_keys(n, {"op", "by", "default"}, file, entry + " reduce", warnings);
    Reduction r;
    std::string op = scalar(n["op"], file, entry + " reduce.op");
    if (op == "count") r.op = Reduction::Op::count;
    else if (op == "sum") r.op = Reduction::Op::sum;
    else if (op == "max") r.op = Reduction::Op::max;
    else if (op == "min") r.op = Reduction::Op::min;
    else throw ConfigError(at(file, n["op"] ? n["op"] : n) + ": " + entry +
                           ": reduce.op must be count, sum, max or min, not \"" + op + "\"");
    r.by = string_list(n["by"], file, entry + " reduce.by");
    if (auto d = n["default"]; d && !d.IsNull()) {
      r.empty = number(d, file, entry + " reduce.default");
      if (!r.by.empty())
        throw ConfigError(at(file, d) + ": " + entry +
                          ": reduce.default cannot be used with reduce.by (an object without series has no labels "
                          "to group by)");
    }
    spec.reduce = r;
  }
  if (auto n = m["otherwise"]; n && !n.IsNull()) {
    spec.otherwise = number(n, file, entry + " otherwise");
    if (spec.when.empty())
      throw ConfigError(at(file, n) + ": " + entry +
                        ": otherwise needs when (it is the value of the objects that do not meet it)");
  }
  if (auto n = m["sampleType"]; n && !n.IsNull()) {
    std::string type = scalar(n, file, entry + " sampleType");
    if (type == "gauge") spec.sample_type = SampleType::gauge;
    else if (type == "counter") spec.sample_type = SampleType::counter;
    else throw ConfigError(at(file, n) + ": " + entry + ": sampleType must be gauge or counter, not \"" + type +
                           "\"");
  }
}

// valueFromLabel: a label, or a list of labels whose values multiply.
void parse_value_from_label(const YAML::Node& v, const std::string& file, const std::string& entry,
                            std::string& single, std::vector<std::string>& factors) {
  if (!v || v.IsNull()) return;
  auto names = v.IsSequence() ? string_list(v, file, entry + " valueFromLabel")
                              : std::vector<std::string>{scalar(v, file, entry + " valueFromLabel")};
  if (names.empty())
    throw ConfigError(at(file, v) + ": " + entry + ": valueFromLabel is an empty list (want label names)");
  for (const auto& name : names)
    if (!is_label_name(name) || name.starts_with("__"))
      throw ConfigError(at(file, v) + ": " + entry + ": valueFromLabel must be a label name or a list of them, not \"" +
                        name + "\"");
  if (v.IsSequence()) factors = std::move(names);
  else single = std::move(names.front());
}

// A list of label names (dropLabels).
std::vector<std::string> label_names(const YAML::Node& n, const std::string& file, const std::string& what) {
  if (!n || n.IsNull()) return {};
  auto names = string_list(n, file, what);
  for (const auto& name : names)
    if (!is_label_name(name)) throw ConfigError(at(file, n) + ": " + what + ": \"" + name + "\" is not a label name");
  return names;
}

std::vector<Variant> parse_variants(const YAML::Node& n, const std::string& file, const std::string& entry,
                                    std::vector<std::string>& warnings) {
  if (!n || n.IsNull()) return {};
  if (!n.IsSequence() || n.size() == 0)
    throw ConfigError(at(file, n) + ": " + entry +
                      ": variants must be a list of {commonLabels, labelValues, valueFromLabel} mappings");
  std::vector<Variant> out;
  for (const auto& v : n) {
    const std::string w = entry + " variants[" + std::to_string(out.size()) + "]";
    if (!v.IsMap()) throw ConfigError(at(file, v) + ": " + w + " must be a mapping of commonLabels, labelValues, valueFromLabel");
    check_keys(v, {"commonLabels", "labelValues", "valueFromLabel"}, file, w, warnings);
    Variant variant;
    variant.common_labels = string_map(v["commonLabels"], file, w + " commonLabels");
    for (const auto& [k, _] : variant.common_labels)
      if (!is_label_name(k)) throw ConfigError(at(file, v) + ": " + w + ": commonLabels: \"" + k + "\" is not a label name");
    variant.label_rules = parse_label_rules(v["labelValues"], file, w, warnings);
    parse_value_from_label(v["valueFromLabel"], file, w, variant.value_from_label, variant.value_factors);
    out.push_back(std::move(variant));
  }
  return out;
}

// What a Transition metric cannot have: its series are histograms of
// changes, not of objects.
void check_transition(const MetricSpec& spec, const YAML::Node& m, const std::string& file, const std::string& entry) {
  if (spec.each.type != EachType::transition) return;
  for (const char* key : {"forEach", "labelsFromMap", "aggregate", "lookup", "valueFromLabel", "reduce", "otherwise",
                          "sampleType", "variants", "dropLabels"})
    if (m[key] && !m[key].IsNull())
      throw ConfigError(at(file, m[key]) + ": " + entry + ": " + key + " cannot be used with type Transition");
  for (const auto& [name, _] : spec.labels)
    if (name == "le")
      throw ConfigError(spec.where + ": a Transition's labels cannot include le, which its buckets use");
  if (spec.common_labels.count("le"))
    throw ConfigError(spec.where + ": a Transition's labels cannot include le, which its buckets use");
}

// A histogram family is made by one Transition entry: a second metric of
// the same name would be a second family of that name in a snapshot.
void check_histogram_names(const MetricsConfig& config) {
  std::map<std::string, const MetricSpec*> histograms;
  for (const auto& r : config.resources)
    for (const auto& m : r.metrics)
      if (m.each.type == EachType::transition) histograms.try_emplace(m.name, &m);
  for (const auto& r : config.resources)
    for (const auto& m : r.metrics) {
      auto it = histograms.find(m.name);
      if (it != histograms.end() && it->second != &m)
        throw ConfigError(m.where + ": " + m.name + " is also the Transition histogram of " +
                          it->second->where.substr(0, it->second->where.find(": ")) +
                          "; one entry makes a histogram family");
    }
}

// Entries of one name make one family, so they must agree on its type: a
// counter and a gauge of one name would be two families to Prometheus.
void check_sample_types(const MetricsConfig& config) {
  std::map<std::string, const MetricSpec*> first;
  for (const auto& r : config.resources)
    for (const auto& m : r.metrics) {
      if (m.each.type == EachType::transition) continue;  // check_histogram_names
      auto [it, fresh] = first.try_emplace(m.name, &m);
      if (!fresh && it->second->sample_type != m.sample_type)
        throw ConfigError(m.where + ": " + m.name + " is a " +
                          (m.sample_type == SampleType::counter ? "counter" : "gauge") + " here and a " +
                          (it->second->sample_type == SampleType::counter ? "counter" : "gauge") + " at " +
                          it->second->where.substr(0, it->second->where.find(": ")) +
                          "; give every entry of one name the same sampleType");
    }
}

}  // namespace

MetricsConfig parse_metrics_config(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw ConfigError(file + ": the config is empty");
  MetricsConfig config;
  try {
    refuse_duplicate_keys(root, file);
    if (!root.IsMap()) throw ConfigError(at(file, root) + ": expected a CustomResourceStateMetrics mapping");
    check_keys(root, {"kind", "spec"}, file, "the config", config.warnings);
    // Another kind may be another tool's file, given by mistake; it is read
    // all the same, as kube-state-metrics reads it, but said.
    if (auto kind = root["kind"]; kind && !kind.IsNull() && (!kind.IsScalar() || kind.Scalar() != "CustomResourceStateMetrics"))
      config.warnings.push_back(at(file, kind) + ": kind is \"" + (kind.IsScalar() ? kind.Scalar() : std::string("?")) +
                                "\", not CustomResourceStateMetrics; read as one, as kube-state-metrics does");
    auto spec = root["spec"];
    if (!spec || !spec.IsMap()) throw ConfigError(at(file, root) + ": \"spec\" with \"resources\" is missing");
    check_keys(spec, {"resources"}, file, "spec", config.warnings);
    auto resources = spec["resources"];
    if (!resources || !resources.IsSequence())
      throw ConfigError(at(file, spec) + ": spec.resources must be a list");
    if (resources.size() == 0)
      throw ConfigError(at(file, resources) + ": spec.resources is empty: there would be nothing to watch");
    std::size_t r_index = 0;
    for (const auto& r : resources) {
      ++r_index;
      std::string entry = "resource " + std::to_string(r_index);
      if (!r.IsMap()) throw ConfigError(at(file, r) + ": " + entry + " must be a mapping");
      check_keys(r,
                 {"groupVersionKind", "metricNamePrefix", "resourcePlural", "commonLabels", "labelsFromPath",
                  "metrics", "errorLogV", "customResourceLabels"},
                 file, entry, config.warnings);
      ResourceSpec res;
      auto gvk = r["groupVersionKind"];
      if (!gvk || !gvk.IsMap()) throw ConfigError(at(file, r) + ": " + entry + ": groupVersionKind is missing");
      res.group = scalar(gvk["group"], file, entry + " groupVersionKind.group");
      res.version = scalar(gvk["version"], file, entry + " groupVersionKind.version");
      res.kind = scalar(gvk["kind"], file, entry + " groupVersionKind.kind");
      entry += " (" + res.kind + ")";
      res.where = at(file, r) + ": " + entry;
      if (res.version.empty() || res.kind.empty())
        throw ConfigError(at(file, gvk) + ": " + entry +
                          ": groupVersionKind needs a version and a kind (\"*\" for all of the group's)");
      res.plural = scalar(r["resourcePlural"], file, entry + " resourcePlural");
      if (res.kind == "*" && !res.plural.empty())
        throw ConfigError(at(file, r["resourcePlural"]) + ": " + entry +
                          ": resourcePlural names one resource, so it cannot go with kind \"*\"");
      std::string prefix = "kube_customresource";
      if (auto p = r["metricNamePrefix"]; p && !p.IsNull()) prefix = scalar(p, file, entry + " metricNamePrefix");
      auto common = string_map(r["commonLabels"], file, entry + " commonLabels");
      if (auto crl = r["customResourceLabels"]; crl && !crl.IsNull())
        res.custom_resource_labels = boolean(crl, file, entry + " customResourceLabels");
      if (res.custom_resource_labels) {
        common["customresource_group"] = res.group;
        common["customresource_version"] = res.version;
        common["customresource_kind"] = res.kind;
      }
      auto resource_labels = label_paths(r["labelsFromPath"], file, entry + " labelsFromPath");
      auto metrics = r["metrics"];
      if (metrics && !metrics.IsNull() && !metrics.IsSequence())
        throw ConfigError(at(file, metrics) + ": " + entry + ": metrics must be a list");
      std::set<std::string> names;
      for (const auto& m : metrics) {
        std::string name = scalar(m["name"], file, entry + " metric name");
        std::string mentry = entry + " metric \"" + name + "\"";
        check_keys(m, {"name", "help", "each", "commonLabels", "labelsFromPath", "errorLogV", "when", "labelValues",
                       "aggregate", "forEach", "labelsFromMap", "lookup", "valueFromLabel", "reduce", "otherwise",
                       "sampleType", "variants", "dropLabels"},
                   file, mentry, config.warnings);
        MetricSpec spec;
        spec.name = prefix.empty() ? name : prefix + "_" + name;
        if (!is_valid_metric_name(spec.name))
          throw ConfigError(at(file, m["name"]) + ": " + mentry + ": \"" + spec.name +
                            "\" is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
        if (spec.name.starts_with("kv_watch_"))
          throw ConfigError(at(file, m["name"]) + ": " + mentry +
                            ": names starting with kv_watch_ are kv-watch's own metrics; choose another");
        spec.where = at(file, m) + ": " + mentry;
        spec.help = scalar(m["help"], file, mentry + " help");
        spec.common_labels = common;
        for (auto& [k, v] : string_map(m["commonLabels"], file, mentry + " commonLabels")) spec.common_labels[k] = v;
        // Metric-level labelsFromPath win over the resource's, per key.
        auto metric_labels = label_paths(m["labelsFromPath"], file, mentry + " labelsFromPath");
        spec.labels = metric_labels;
        for (const auto& rl : resource_labels)
          if (std::none_of(metric_labels.begin(), metric_labels.end(), [&](const auto& ml) { return ml.first == rl.first; }))
            spec.labels.push_back(rl);
        sanitize_plain_keys(spec.labels);
        spec.each = parse_each(m["each"], file, mentry, config.warnings);
        sanitize_plain_keys(spec.each.labels);
        spec.for_each = parse_for_each(m["forEach"], file, mentry, config.warnings);
        spec.map_labels = parse_map_labels(m["labelsFromMap"], file, mentry, config.warnings);
        spec.when = parse_when(m["when"], file, mentry, config.warnings);
        spec.label_rules = parse_label_rules(m["labelValues"], file, mentry, config.warnings);
        spec.aggregate = parse_aggregate(m["aggregate"], file, mentry, config.warnings);
        spec.lookups = parse_lookups(m["lookup"], file, mentry, config.warnings);
        parse_value_from_label(m["valueFromLabel"], file, mentry, spec.value_from_label, spec.value_factors);
        spec.variants = parse_variants(m["variants"], file, mentry, config.warnings);
        if (!spec.variants.empty() && (!spec.value_from_label.empty() || !spec.value_factors.empty()))
          throw ConfigError(at(file, m["valueFromLabel"]) + ": " + mentry +
                            ": valueFromLabel cannot be used with variants (each variant has its own)");
        spec.drop_labels = label_names(m["dropLabels"], file, mentry + " dropLabels");
        parse_object_extensions(spec, m, file, mentry, config.warnings);
        check_transition(spec, m, file, mentry);
        res.metrics.push_back(std::move(spec));
      }
      config.resources.push_back(std::move(res));
    }
    add_lookup_targets(config);
    check_histogram_names(config);
    check_sample_types(config);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return config;
}

std::vector<std::string> fields_read(const ResourceSpec& resource) {
  std::set<std::string> out;
  // A path as far as plain keys go: an index, a map filter or a key with a
  // dot keeps the rest whole. A list filter [k=v] with more of the path
  // after it keeps k and that rest of each element (the list is pruned
  // element by element), not whole elements.
  auto add = [&](std::initializer_list<const ValuePath*> parts) {
    const PathStep* last = nullptr;
    for (const ValuePath* p : parts)
      if (!p->empty()) last = &p->steps().back();
    std::string dotted;
    for (const ValuePath* p : parts) {
      for (const auto& step : p->steps()) {
        if (step.kind == PathStep::Kind::list_filter && &step != last && !dotted.empty() &&
            !step.filter_key.empty() && step.filter_key.find('.') == std::string::npos) {
          out.insert(dotted + "." + step.filter_key);
          continue;
        }
        bool plain = step.kind == PathStep::Kind::key && step.text.find('=') == std::string::npos &&
                     !std::all_of(step.text.begin(), step.text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+'; });
        if (!plain || step.text.find('.') != std::string::npos) {
          out.insert(dotted);
          return;
        }
        dotted += (dotted.empty() ? "" : ".") + step.text;
      }
    }
    out.insert(dotted);
  };
  for (const auto& m : resource.metrics) {
    for (const auto& [_, p] : m.labels) add({&p});
    for (const auto& c : m.when) add({&c.path});
    if (m.map_labels)
      for (const auto& p : m.map_labels->paths) add({&p});
    if (m.for_each) {
      // each and the element's labels read below each element.
      add({&m.for_each->path, &m.each.path});
      for (const auto& [_, p] : m.for_each->labels) add({&m.for_each->path, &p});
      for (const auto& c : m.for_each->when) add({&m.for_each->path, &c.path});
      if (const auto& j = m.for_each->join) {
        add({&m.for_each->path, &j->on});
        add({&j->path, &j->key});
        for (const auto& c : j->when) add({&j->path, &c.path});
        for (const auto& [_, p] : j->labels) add({&j->path, &p});
      }
    } else if (m.each.type == EachType::transition) {
      // Paths from the object: the observed value, the list of times, the
      // reference times. The list's elements are kept whole.
      const auto& t = m.each.transition;
      for (const ValuePath* p : {&m.each.path, &t.list, &t.from, &t.from_unset})
        if (!p->empty()) add({p});
    } else {
      add({&m.each.path});  // what each-level paths read lies below it
    }
    // A lookup's key: the namespace from the object, the name from the
    // forEach element or the object.
    for (const auto& l : m.lookups) {
      add({&l.namespace_path});
      for (const auto& p : l.name) m.for_each ? add({&m.for_each->path, &p}) : add({&p});
      for (const auto& c : l.only_if) m.for_each ? add({&m.for_each->path, &c.path}) : add({&c.path});
    }
  }
  for (const auto& p : resource.looked_up_paths) add({&p});
  // An empty path means the whole object.
  if (out.count("")) return {""};
  return {out.begin(), out.end()};
}

}  // namespace kv::watch::crs
