#include "kv-rulesgen/rule_set.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "kv-rulesgen/promql_names.hpp"
#include "metric_catalog.hpp"

namespace kv::rulesgen {

bool is_prometheus_duration(std::string_view s) {
  if (s == "0") return true;
  static constexpr std::string_view units[] = {"y", "w", "d", "h", "m", "s", "ms"};
  std::size_t next_unit = 0, i = 0;
  if (s.empty()) return false;
  while (i < s.size()) {
    std::size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits || i == s.size()) return false;
    std::size_t u = next_unit;
    // "m" and "ms" share a letter: take the longest unit that matches.
    std::optional<std::size_t> found;
    for (; u < std::size(units); ++u)
      if (s.substr(i).starts_with(units[u]) &&
          (!found || units[u].size() > units[*found].size()))
        found = u;
    if (!found) return false;
    i += units[*found].size();
    next_unit = *found + 1;
  }
  return true;
}

namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// [a-zA-Z_][a-zA-Z0-9_]*: label names, and alert names here.
bool is_label_name(std::string_view s) {
  return !s.empty() && name_start(s.front()) && std::all_of(s.begin(), s.end(), name_char);
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_metric_name(std::string_view s) {
  auto colon_or = [](bool (*f)(char)) { return [f](char c) { return c == ':' || f(c); }; };
  return !s.empty() && colon_or(name_start)(s.front()) &&
         std::all_of(s.begin(), s.end(), colon_or(name_char));
}

// A catalog row for `name`, also for a histogram's _bucket, _sum and
// _count series.
const MetricInfo* catalog_metric(std::string_view name) {
  if (const MetricInfo* m = find_metric(name)) return m;
  for (std::string_view suffix : {"_bucket", "_sum", "_count"})
    if (name.ends_with(suffix))
      if (const MetricInfo* m = find_metric(name.substr(0, name.size() - suffix.size()));
          m && m->type == CatalogType::histogram)
        return m;
  return nullptr;
}

// Checks that `text` uses no placeholder but ${namespace}.
void check_placeholders(const std::string& text, const SourcePosition& pos, const std::string& rule,
                        std::string_view where, std::vector<Diagnostic>& problems) {
  for (std::size_t at = text.find("${"); at != std::string::npos; at = text.find("${", at + 2)) {
    std::size_t end = text.find('}', at);
    std::string found = text.substr(at, end == std::string::npos ? std::string::npos : end - at + 1);
    if (found != "${namespace}")
      problems.push_back({pos, rule, std::string(where) + ": unknown placeholder " + found +
                                         " (the only one is ${namespace})"});
  }
}

std::string where(const SourcePosition& p) {
  return p.file + ":" + std::to_string(p.line);
}

}  // namespace

// Works out, release by release, which rules a release gets.
class Availability {
 public:
  Availability(RuleSet& set) : set_(set) {}

  void compute() {
    std::size_t n = set_.rules_.size(), r = set_.releases_.size();
    set_.included_.assign(n, std::vector<bool>(r, false));
    for (std::size_t release = 0; release < r; ++release) {
      state_.assign(n, State::unknown);
      for (std::size_t rule = 0; rule < n; ++rule) set_.included_[rule][release] = gets(rule, release);
    }
  }

  // Whether `metric` is there in `release`.
  bool metric_there(const std::string& metric, std::size_t release) {
    if (auto p = set_.producers_.find(metric); p != set_.producers_.end()) {
      for (std::size_t producer : p->second)
        if (gets(producer, release)) return true;
      return false;
    }
    return set_.source_metric_there(metric, release);
  }

 private:
  enum class State { unknown, working, yes, no };

  bool gets(std::size_t rule, std::size_t release) {
    State& s = state_[rule];
    if (s == State::yes || s == State::no) return s == State::yes;
    if (s == State::working) return false;  // a cycle, reported by the check
    s = State::working;
    const RuleSource& r = set_.rules_[rule];
    KubevirtVersion v = set_.releases_[release].version;
    bool ok = (!r.since || *r.since <= v) && (!r.until || v <= *r.until);
    for (const auto& metric : set_.reads_[rule]) {
      if (!ok) break;
      ok = metric_there(metric, release);
    }
    state_[rule] = ok ? State::yes : State::no;
    return ok;
  }

  RuleSet& set_;
  std::vector<State> state_;
};

RuleSet RuleSet::check(RuleSources sources, std::vector<Diagnostic>& problems) {
  RuleSet set;
  set.releases_ = std::move(sources.releases);
  set.rules_ = std::move(sources.rules);

  // Releases: in order, each KubeVirt metric added once.
  for (std::size_t i = 0; i < set.releases_.size(); ++i) {
    const Release& rel = set.releases_[i];
    if (i > 0 && !(set.releases_[i - 1].version < rel.version))
      problems.push_back({rel.position, "", to_string(rel.version) + " comes after " +
                                                to_string(set.releases_[i - 1].version) +
                                                ": list the releases oldest first, once each"});
    for (const auto& metric : rel.metrics) {
      const SourcePosition& pos = rel.metric_positions.at(metric);
      const MetricInfo* m = find_metric(metric);
      if (!m)
        problems.push_back({pos, "", metric + " is not in the metric catalog (common/metric_catalog.def)"});
      else if (m->source == MetricSource::self)
        problems.push_back({pos, "", metric + " is the toolkit's own metric, not KubeVirt's"});
      else if (!set.kubevirt_since_.emplace(metric, i).second)
        problems.push_back({pos, "", metric + " is listed by two releases"});
    }
  }
  for (const auto& [metric, ext] : sources.external)
    if (find_metric(metric))
      problems.push_back({ext.position, "", metric +
                                                " is in the metric catalog; it is not an external series"});

  // Without a release list (its file missing or broken, which is reported
  // already) every version would be unknown: no checks against it, rather
  // than one knock-on error per rule.
  auto release_known = [&](KubevirtVersion v) {
    return set.releases_.empty() || std::any_of(set.releases_.begin(), set.releases_.end(),
                                                [&](const Release& r) { return r.version == v; });
  };

  // Each rule on its own.
  for (std::size_t i = 0; i < set.rules_.size(); ++i) {
    const RuleSource& r = set.rules_[i];
    if (r.kind == RuleKind::record) set.producers_[r.name].push_back(i);
  }
  set.reads_.resize(set.rules_.size());
  for (std::size_t i = 0; i < set.rules_.size(); ++i) {
    const RuleSource& r = set.rules_[i];
    const std::string id = describe(r);
    auto problem = [&](const SourcePosition& pos, std::string message) {
      problems.push_back({pos, id, std::move(message)});
    };
    if (r.name.empty()) continue;  // reported by the loader
    if (r.kind == RuleKind::alert && !is_label_name(r.name))
      problem(r.position, "an alert's name is letters, digits and _, not starting with a digit");
    if (r.kind == RuleKind::record && !is_metric_name(r.name))
      problem(r.position, "a recording rule's name must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
    if (r.kind == RuleKind::record) {
      if (const MetricInfo* m = catalog_metric(r.name))
        problem(r.position, "has the name of a metric in the catalog (" +
                                std::string(to_string(m->source)) + ")");
      else if (auto ext = sources.external.find(r.name); ext != sources.external.end())
        problem(r.position, "has the name of an external series (" + ext->second.exporter + ")");
    }

    // Labels and annotations.
    for (const auto& [name, value] : r.labels) {
      const SourcePosition& pos = r.label_positions.count(name) ? r.label_positions.at(name) : r.position;
      if (!is_label_name(name) || name.starts_with("__"))
        problem(pos, "\"" + name + "\" is not a label name");
      if (value.empty()) problem(pos, "label " + name + " is empty");
      check_placeholders(value, pos, id, "label " + name, problems);
    }
    if (r.kind == RuleKind::alert) {
      auto require = [&](const char* label, std::initializer_list<std::string_view> allowed) {
        auto it = r.labels.find(label);
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        if (it == r.labels.end()) {
          problem(r.position, std::string("no ") + label + " label" +
                                  (allowed.size() ? " (" + list + ")" : ""));
        } else if (allowed.size() &&
                   std::find(allowed.begin(), allowed.end(), it->second) == allowed.end()) {
          problem(r.label_positions.at(label), std::string(label) + " \"" + it->second +
                                                   "\" is not one of " + list);
        }
      };
      require("severity", {"critical", "warning", "info"});
      require("operator_health_impact", {"critical", "warning", "none"});
      require("kubernetes_operator_part_of", {});
      require("kubernetes_operator_component", {});
      auto summary = r.annotations.find("summary");
      if (summary == r.annotations.end() || summary->second.empty())
        problem(r.position, "no summary annotation");
      for (const auto& [name, value] : r.annotations) {
        if (!is_label_name(name))
          problem(r.position, "\"" + name + "\" is not an annotation name");
        check_placeholders(value, r.position, id, "annotation " + name, problems);
      }
      if (!r.for_duration.empty() && !is_prometheus_duration(r.for_duration))
        problem(r.for_position, "for: \"" + r.for_duration +
                                    "\" is not a duration (like 5m, 1h30m, 24h)");
    }

    // Versions.
    if (r.since && !release_known(*r.since))
      problem(*r.since_position, "since: " + to_string(*r.since) + " is not in " + kReleasesFile);
    if (r.until && !release_known(*r.until))
      problem(*r.until_position, "until: " + to_string(*r.until) + " is not in " + kReleasesFile);
    if (r.since && r.until && *r.until < *r.since)
      problem(*r.until_position, "until: " + to_string(*r.until) + " is before since: " +
                                     to_string(*r.since));

    // The expression, and the metrics it reads.
    if (r.expr.empty()) {
      if (!r.expr_position.file.empty()) problem(r.expr_position, "expr is empty");
      continue;
    }
    check_placeholders(r.expr, r.expr_position, id, "expr", problems);
    MetricScan scan = scan_metric_names(r.expr);
    if (!scan.error.empty()) problem(position_in_expr(r, scan.error_offset), "expr: " + scan.error);
    std::set<std::string> reads;
    for (const auto& ref : scan.metrics) {
      if (!reads.insert(ref.name).second) continue;
      if (set.producers_.count(ref.name)) continue;
      if (const MetricInfo* m = catalog_metric(ref.name)) {
        if (m->source != MetricSource::self && !set.releases_.empty() &&
            !set.kubevirt_since_.count(std::string(m->name)))
          problem(position_in_expr(r, ref.offset),
                  "reads KubeVirt's " + ref.name + ", which no release in " + kReleasesFile +
                      " lists: add it to the release that added it");
        continue;
      }
      // Likewise without the external metrics' list.
      if (sources.external.empty() || sources.external.count(ref.name)) continue;
      problem(position_in_expr(r, ref.offset),
              "unknown metric " + ref.name +
                  ": not in the metric catalog, not recorded by a rule, not in " +
                  kExternalMetricsFile);
    }
    set.reads_[i].assign(reads.begin(), reads.end());
  }

  // Recording rules that read themselves, directly or not.
  {
    std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
    std::vector<std::string> path;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
      state[name] = 1;
      path.push_back(name);
      for (std::size_t p : set.producers_[name])
        for (const auto& m : set.reads_[p]) {
          if (!set.producers_.count(m)) continue;
          if (state[m] == 1) {
            std::string cycle;
            auto from = std::find(path.begin(), path.end(), m);
            for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
            problems.push_back({set.rules_[p].position, describe(set.rules_[p]),
                                "recording rules read each other in a circle: " + cycle + m});
          } else if (state[m] == 0) {
            visit(m);
          }
        }
      path.pop_back();
      state[name] = 2;
    };
    for (const auto& [name, _] : set.producers_)
      if (state[name] == 0) visit(name);
  }

  Availability(set).compute();

  // Rules no release gets, and two rules that one release would get twice.
  for (std::size_t i = 0; i < set.rules_.size(); ++i) {
    const RuleSource& r = set.rules_[i];
    if (r.name.empty()) continue;
    bool any = false;
    for (std::size_t rel = 0; rel < set.releases_.size(); ++rel) any = any || set.included_[i][rel];
    // Said only when nothing else about the rule explains it already.
    bool explained = std::any_of(problems.begin(), problems.end(), [&](const Diagnostic& d) {
      return d.rule == describe(r) && d.position.file == r.position.file;
    });
    if (!any && !explained && !set.releases_.empty())
      problems.push_back({r.position, describe(r),
                          "no release gets this rule: the newest, " +
                              to_string(set.releases_.back().version) + ", leaves it out (" +
                              set.left_out_because(i, set.releases_.size() - 1) + ")"});
    for (std::size_t j = 0; j < i; ++j) {
      const RuleSource& other = set.rules_[j];
      if (other.kind != r.kind || other.name != r.name || other.labels != r.labels) continue;
      for (std::size_t rel = 0; rel < set.releases_.size(); ++rel)
        if (set.included_[i][rel] && set.included_[j][rel]) {
          problems.push_back(
              {r.position, describe(r),
               "duplicate of the " + std::string(r.kind == RuleKind::alert ? "alert" : "recording rule") +
                   " at " + where(other.position) + ": same name and labels, both for " +
                   to_string(set.releases_[rel].version) +
                   " (tell them apart by a label, or give them since/until ranges that do not overlap)"});
          break;
        }
    }
  }
  return set;
}

bool RuleSet::source_metric_there(const std::string& metric, std::size_t release) const {
  if (const MetricInfo* m = catalog_metric(metric)) {
    if (m->source == MetricSource::self) return true;
    auto since = kubevirt_since_.find(std::string(m->name));
    return since != kubevirt_since_.end() && since->second <= release;
  }
  return true;  // an external series (unknown names are reported by the check)
}

std::optional<std::size_t> RuleSet::release_index(KubevirtVersion v) const {
  for (std::size_t i = 0; i < releases_.size(); ++i)
    if (releases_[i].version == v) return i;
  return std::nullopt;
}

std::string RuleSet::left_out_because(std::size_t rule, std::size_t release) const {
  const RuleSource& r = rules_[rule];
  KubevirtVersion v = releases_[release].version;
  if (r.since && v < *r.since) return "since " + to_string(*r.since);
  if (r.until && *r.until < v) return "until " + to_string(*r.until);
  for (const auto& metric : reads_[rule]) {
    bool there = producers_.count(metric)
                     ? std::any_of(producers_.at(metric).begin(), producers_.at(metric).end(),
                                   [&](std::size_t p) { return included_[p][release]; })
                     : source_metric_there(metric, release);
    if (there) continue;
    if (producers_.count(metric)) return "needs " + metric + ", which it does not get";
    if (const MetricInfo* m = catalog_metric(metric)) {
      auto since = kubevirt_since_.find(std::string(m->name));
      if (since != kubevirt_since_.end())
        return "needs " + metric + " (" + to_string(releases_[since->second].version) + ")";
    }
    return "needs " + metric;
  }
  return "";
}

std::string RuleSet::releases_of(std::size_t rule) const {
  std::string out;
  std::size_t n = releases_.size();
  for (std::size_t i = 0; i < n;) {
    if (!included_[rule][i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < n && included_[rule][j + 1]) ++j;
    if (!out.empty()) out += ",";
    out += to_string(releases_[i].version);
    // Open-ended when the newest release gets it and no `until` stops it.
    if (j + 1 == n && !rules_[rule].until) out += "+";
    else if (j > i) out += "-" + to_string(releases_[j].version);
    i = j + 1;
  }
  return out.empty() ? "none" : out;
}

}  // namespace kv::rulesgen
