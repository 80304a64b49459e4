#include "kv-rulesgen/rule_source.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace kv::rulesgen {

std::string format(const Diagnostic& d) {
  std::string out = d.position.file;
  if (d.position.line > 0) {
    out += ":" + std::to_string(d.position.line);
    if (d.position.column > 0) out += ":" + std::to_string(d.position.column);
  }
  out += ": ";
  if (!d.rule.empty()) out += d.rule + ": ";
  return out + d.message;
}

std::string describe(const RuleSource& rule) {
  return (rule.kind == RuleKind::alert ? "alert " : "record ") + rule.name;
}

SourcePosition position_in_expr(const RuleSource& rule, std::size_t offset) {
  SourcePosition pos = rule.expr_position;
  offset = std::min(offset, rule.expr.size());
  if (rule.expr_literal_block) {
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i)
      if (rule.expr[i] == '\n') {
        ++pos.line;
        line_start = i + 1;
      }
    pos.column = rule.expr_position.column + static_cast<int>(offset - line_start);
  } else if (rule.expr_on_one_line) {
    pos.column += static_cast<int>(offset);
  }
  return pos;
}

namespace {

// Reads one file's YAML, turning each problem into a Diagnostic at its
// place; the text is kept to find the lines of literal block scalars.
class FileReader {
 public:
  FileReader(std::string file, const std::string& text, std::vector<Diagnostic>& problems)
      : file_(std::move(file)), problems_(problems) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
  }

  SourcePosition at(const YAML::Mark& mark) const {
    return {file_, mark.line + 1, mark.column + 1};
  }
  SourcePosition at(const YAML::Node& node) const { return at(node.Mark()); }

  void problem(const SourcePosition& pos, std::string rule, std::string message) {
    problems_.push_back({pos, std::move(rule), std::move(message)});
  }
  void problem(const YAML::Node& node, std::string rule, std::string message) {
    problem(at(node), std::move(rule), std::move(message));
  }

  // Parses the text; a null node (and a problem) when it is not YAML.
  YAML::Node parse(const std::string& text) {
    try {
      return YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      problem(at(e.mark), "", "not valid YAML: " + e.msg);
    } catch (const YAML::Exception& e) {
      problem(SourcePosition{file_, 0, 0}, "", std::string("not valid YAML: ") + e.what());
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  // A scalar value as a string; a problem (and nullopt) otherwise.
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& rule,
                                    std::string_view what) {
    if (node.IsScalar()) return node.Scalar();
    problem(node, rule, std::string(what) + " must be a string" +
                            (node.IsNull() ? ", and it is empty" : ""));
    return std::nullopt;
  }

  // The keys of a mapping, checking that it is one, that each key is a
  // known one and that none repeats; unknown or repeated keys are reported.
  bool mapping(const YAML::Node& node, const std::string& rule, std::string_view what,
               std::initializer_list<std::string_view> known) {
    if (!node.IsMap()) {
      problem(node, rule, std::string(what) + " must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!seen.insert(key).second) {
        problem(kv.first, rule, "key \"" + key + "\" is given twice");
        continue;
      }
      if (known.size() == 0) continue;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        problem(kv.first, rule, "unknown key \"" + key + "\" in " + std::string(what) +
                                    " (known: " + list + ")");
      }
    }
    return true;
  }

  // String-to-string mapping (labels, annotations).
  std::map<std::string, std::string> string_map(const YAML::Node& node, const std::string& rule,
                                                std::string_view what,
                                                std::map<std::string, SourcePosition>* positions) {
    std::map<std::string, std::string> out;
    if (!mapping(node, rule, what, {})) return out;
    for (const auto& kv : node) {
      auto key = scalar(kv.first, rule, std::string(what) + " names");
      if (!key) continue;
      auto value = scalar(kv.second, rule, std::string(what) + "." + *key);
      if (!value) continue;
      out[*key] = *value;
      if (positions) (*positions)[*key] = at(kv.second);
    }
    return out;
  }

  // Where the expression's text starts, so that an offset in it can be
  // turned into a line and column: exact for one-line and literal-block
  // (`|`) scalars, the scalar's own position otherwise.
  SourcePosition expression_start(const YAML::Node& node, const std::string& expr,
                                  bool& literal_block, bool& one_line) const {
    SourcePosition pos = at(node);
    literal_block = false;
    one_line = false;
    int indent = 0;
    auto line = static_cast<std::size_t>(node.Mark().line);
    auto column = static_cast<std::size_t>(node.Mark().column);
    if (line < lines_.size() && column < lines_[line].size() && lines_[line][column] == '|') {
      for (std::size_t l = line + 1; l < lines_.size(); ++l) {
        const std::string& text = lines_[l];
        std::size_t spaces = text.find_first_not_of(' ');
        if (spaces == std::string::npos) continue;
        literal_block = true;
        indent = static_cast<int>(spaces);
        pos.line = static_cast<int>(line) + 2;
        pos.column = indent + 1;
        break;
      }
    } else if (line < lines_.size() && column < lines_[line].size()) {
      std::size_t start = column;
      if (lines_[line][column] == '"' || lines_[line][column] == '\'') ++start;
      pos.column = static_cast<int>(start) + 1;
      one_line = lines_[line].compare(start, expr.size(), expr) == 0;
    }
    return pos;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::string> lines_;
  std::vector<Diagnostic>& problems_;
};

std::optional<KubevirtVersion> read_version(FileReader& r, const YAML::Node& node,
                                            const std::string& rule, std::string_view what) {
  auto text = r.scalar(node, rule, what);
  if (!text) return std::nullopt;
  auto v = parse_release(*text);
  if (!v) r.problem(node, rule, std::string(what) + ": \"" + *text +
                                    "\" is not a KubeVirt release (like v1.3)");
  return v;
}

void read_rule(FileReader& r, const YAML::Node& node, RuleKind kind,
               const std::map<std::string, std::string>& alert_labels,
               const std::map<std::string, SourcePosition>& alert_label_positions,
               RuleSources& into) {
  RuleSource rule;
  rule.kind = kind;
  rule.position = r.at(node);
  const char* name_key = kind == RuleKind::alert ? "alert" : "record";
  std::string what = kind == RuleKind::alert ? "an alert" : "a recording rule";
  if (!node.IsMap()) {
    r.problem(node, "", what + " must be a mapping");
    return;
  }
  if (const auto name = node[name_key]) {
    if (auto n = r.scalar(name, "", name_key)) rule.name = *n;
  } else {
    r.problem(node, "", what + " without \"" + name_key + ":\" (its name)");
  }
  std::string id = rule.name.empty() ? "" : describe(rule);
  if (kind == RuleKind::alert)
    r.mapping(node, id, what,
              {"alert", "expr", "for", "labels", "annotations", "since", "until", "deprecated"});
  else
    r.mapping(node, id, what, {"record", "expr", "labels", "since", "until", "deprecated"});

  if (const auto expr = node["expr"]) {
    if (auto e = r.scalar(expr, id, "expr")) rule.expr = *e;
    rule.expr_position =
        r.expression_start(expr, rule.expr, rule.expr_literal_block, rule.expr_on_one_line);
  } else {
    r.problem(node, id, "no expr");  // and no "expr is empty" too: expr_position stays unset
  }
  if (const auto f = node["for"]) {
    rule.for_position = r.at(f);
    if (auto d = r.scalar(f, id, "for")) rule.for_duration = *d;
  }
  if (kind == RuleKind::alert) {
    rule.labels = alert_labels;
    rule.label_positions = alert_label_positions;
  }
  if (const auto labels = node["labels"]) {
    std::map<std::string, SourcePosition> positions;
    for (auto& [k, v] : r.string_map(labels, id, "labels", &positions)) {
      rule.labels[k] = v;
      rule.label_positions[k] = positions[k];
    }
  }
  if (const auto annotations = node["annotations"]) {
    rule.annotations = r.string_map(annotations, id, "annotations", nullptr);
    if (annotations.IsMap() && annotations["runbook_url"])
      r.problem(annotations["runbook_url"], id,
                "runbook_url is made from --runbook-url-template and the alert's name; "
                "leave it out");
    rule.annotations.erase("runbook_url");
  }
  if (const auto since = node["since"]) {
    rule.since_position = r.at(since);
    rule.since = read_version(r, since, id, "since");
  }
  if (const auto until = node["until"]) {
    rule.until_position = r.at(until);
    rule.until = read_version(r, until, id, "until");
  }
  if (const auto deprecated = node["deprecated"]) {
    auto text = r.scalar(deprecated, id, "deprecated");
    if (text && *text != "true" && *text != "false")
      r.problem(deprecated, id, "deprecated must be true or false");
    rule.deprecated = text && *text == "true";
  }
  into.rules.push_back(std::move(rule));
}

std::string read_file(const std::filesystem::path& path, std::vector<Diagnostic>& problems,
                      bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) {
    problems.push_back({{path.string(), 0, 0}, "", "cannot read the file"});
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

void load_rule_file(const std::string& file, const std::string& text, RuleSources& into,
                    std::vector<Diagnostic>& problems) {
  FileReader r(file, text, problems);
  YAML::Node doc = r.parse(text);
  if (!doc.IsDefined() || doc.IsNull()) {
    if (doc.IsNull()) r.problem(SourcePosition{file, 1, 1}, "", "the file holds no rules");
    return;
  }
  if (!r.mapping(doc, "", "a rule file", {"alert_labels", "records", "alerts"})) return;
  std::map<std::string, std::string> alert_labels;
  std::map<std::string, SourcePosition> alert_label_positions;
  if (const auto labels = doc["alert_labels"])
    alert_labels = r.string_map(labels, "", "alert_labels", &alert_label_positions);
  for (auto [key, kind] : {std::pair{"records", RuleKind::record}, std::pair{"alerts", RuleKind::alert}}) {
    const auto list = doc[key];
    if (!list) continue;
    if (!list.IsSequence()) {
      r.problem(list, "", std::string(key) + " must be a list");
      continue;
    }
    for (const auto& item : list) read_rule(r, item, kind, alert_labels, alert_label_positions, into);
  }
}

void load_releases(const std::string& file, const std::string& text, RuleSources& into,
                   std::vector<Diagnostic>& problems) {
  FileReader r(file, text, problems);
  YAML::Node doc = r.parse(text);
  if (!doc.IsDefined()) return;
  if (!r.mapping(doc, "", file, {"releases"})) return;
  const auto list = doc["releases"];
  if (!list || !list.IsSequence()) {
    r.problem(list ? list : doc, "", "releases must be a list of KubeVirt releases");
    return;
  }
  for (const auto& item : list) {
    if (!r.mapping(item, "", "a release", {"version", "metrics"})) continue;
    Release release;
    release.position = r.at(item);
    if (!item["version"]) {
      r.problem(item, "", "a release without a version");
      continue;
    }
    auto v = read_version(r, item["version"], "", "version");
    if (!v) continue;
    release.version = *v;
    if (const auto metrics = item["metrics"]) {
      if (!metrics.IsSequence()) {
        r.problem(metrics, "", "metrics must be a list of metric names");
      } else {
        for (const auto& m : metrics)
          if (auto name = r.scalar(m, "", "a metric name")) {
            release.metrics.push_back(*name);
            release.metric_positions[*name] = r.at(m);
          }
      }
    }
    into.releases.push_back(std::move(release));
  }
}

void load_external_metrics(const std::string& file, const std::string& text, RuleSources& into,
                           std::vector<Diagnostic>& problems) {
  FileReader r(file, text, problems);
  YAML::Node doc = r.parse(text);
  if (!doc.IsDefined()) return;
  if (!r.mapping(doc, "", file, {})) return;
  for (const auto& kv : doc) {
    auto exporter = r.scalar(kv.first, "", "an exporter's name");
    if (!exporter) continue;
    if (!kv.second.IsSequence()) {
      r.problem(kv.second, "", *exporter + " must be a list of metric names");
      continue;
    }
    for (const auto& m : kv.second) {
      auto name = r.scalar(m, "", "a metric name");
      if (!name) continue;
      if (auto it = into.external.find(*name); it != into.external.end()) {
        r.problem(m, "", *name + " is listed twice (also under " + it->second.exporter + " at line " +
                             std::to_string(it->second.position.line) + ")");
        continue;
      }
      into.external[*name] = {*exporter, r.at(m)};
    }
  }
}

RuleSources load_rule_sources(const std::filesystem::path& dir, std::vector<Diagnostic>& problems) {
  RuleSources sources;
  bool ok = false;
  std::string text = read_file(dir / kReleasesFile, problems, ok);
  if (ok) load_releases((dir / kReleasesFile).string(), text, sources, problems);
  text = read_file(dir / kExternalMetricsFile, problems, ok);
  if (ok) load_external_metrics((dir / kExternalMetricsFile).string(), text, sources, problems);

  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().ends_with(kRuleFileSuffix)) files.push_back(entry.path());
  if (ec) problems.push_back({{dir.string(), 0, 0}, "", "cannot list the directory: " + ec.message()});
  std::sort(files.begin(), files.end());
  if (files.empty() && !ec)
    problems.push_back({{dir.string(), 0, 0}, "", std::string("no *") + kRuleFileSuffix + " files"});
  for (const auto& path : files) {
    text = read_file(path, problems, ok);
    if (ok) load_rule_file(path.string(), text, sources, problems);
  }
  return sources;
}

}  // namespace kv::rulesgen
