// kv-rulesgen: KubeVirt's recording rules and alerts, from the rule sources
// in rules/, for one KubeVirt release and install namespace, as a
// PrometheusRule manifest or a Prometheus/vmalert rule file.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <tuple>
#include <filesystem>
#include <system_error>

#include "atomic_file.hpp"
#include "cli.hpp"
#include "exit_codes.hpp"
#include "kv-rulesgen/kubernetes_names.hpp"
#include "kv-rulesgen/rule_output.hpp"
#include "logging.hpp"
#include "process.hpp"

using namespace kv;
using namespace kv::rulesgen;

namespace {

constexpr const char* kTool = "kv-rulesgen";

// Installed as PREFIX/bin/kv-rulesgen beside PREFIX/share/kv-monitoring/rules;
// the build tree has the same layout (build/bin, build/share).
std::filesystem::path default_rules_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "rules";
  return exe.parent_path().parent_path() / "share" / "kv-monitoring" / "rules";
}

struct Settings {
  std::string kubevirt_version;
  std::string format = "prometheusrule";
  std::string select = "all";
  std::vector<std::string> labels;
  bool no_deprecated = false;
  std::string rules_dir;
  bool list = false;
  bool list_releases = false;
  bool check = false;
  std::string log_level = "info";
  OutputOptions output;
};

std::string known_releases(const RuleSet& set) {
  const auto& r = set.releases();
  if (r.empty()) return "none";
  return to_string(r.front().version) + " to " + to_string(r.back().version);
}

// Everything is rendered before a byte is written, so invalid sources or a
// usage error never leave half a file behind.
int write_stdout(std::string_view text) {
  try {
    write_all(STDOUT_FILENO, text);
  } catch (const std::system_error& e) {
    if (e.code().value() == EPIPE) return kExitOk;  // the reader went away
    spdlog::error("cannot write to stdout: {}", e.what());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  protect_standard_fds();
  ::signal(SIGPIPE, SIG_IGN);
  Settings s;
  s.rules_dir = default_rules_dir().string();
  CLI::App app{"Generates KubeVirt's recording rules and alerts for one KubeVirt release and "
               "install namespace, as a PrometheusRule manifest or a Prometheus rule file, from "
               "the rule sources; checks those sources first.",
               kTool};
  app.add_option("-k,--kubevirt-version", s.kubevirt_version,
                 "The KubeVirt release to generate for (like v1.6, or v1.6.2)")
      ->type_name("VERSION");
  app.add_option("-f,--format", s.format,
                 "prometheusrule (a monitoring.coreos.com/v1 PrometheusRule) or rulefile (a "
                 "Prometheus/vmalert rule file)")
      ->check(CLI::IsMember({"prometheusrule", "rulefile"}))
      ->default_str("prometheusrule");
  app.add_option("-n,--namespace", s.output.install_namespace,
                 "KubeVirt's install namespace, which the rules and labels refer to")
      ->type_name("NAMESPACE")
      ->default_str(kDefaultNamespace);
  app.add_option("--name", s.output.object_name, "The PrometheusRule's name")
      ->type_name("NAME")
      ->default_str(kDefaultRuleName);
  app.add_option("-l,--label", s.labels,
                 "Add a label to the PrometheusRule, for rule selectors (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--runbook-url-template", s.output.runbook_url_template,
                 "Each alert's runbook_url, with %s for the alert's name")
      ->type_name("TEMPLATE")
      ->default_str(kDefaultRunbookUrlTemplate);
  app.add_option("--select", s.select, "Which rules: all, alerts or records")
      ->check(CLI::IsMember({"all", "alerts", "records"}))
      ->default_str("all");
  app.add_flag("--no-deprecated", s.no_deprecated,
               "Leave out the deprecated recording rules (old names kept for dashboards)");
  app.add_option("--rules-dir", s.rules_dir, "Read the rule sources from DIR")
      ->type_name("DIR")
      ->default_str("../share/kv-monitoring/rules beside the program's directory");
  auto* list = app.add_flag("--list", s.list,
                            "List the rules (those of --kubevirt-version if given) with the "
                            "releases that get them, instead of generating");
  auto* releases = app.add_flag("--list-releases", s.list_releases,
                                "List the KubeVirt releases the rule sources know, oldest first");
  auto* check = app.add_flag("--check", s.check, "Check the rule sources, and write nothing");
  list->excludes(check)->excludes(releases);
  releases->excludes(check);
  app.add_option("--log-level", s.log_level, std::string("Log level: ") + kLogLevels)
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->default_str("info");
  app.set_version_flag("--version",
                       [] {
                         return version_string(kTool, "yaml-cpp " KV_YAML_CPP_VERSION);
                       },
                       "Print the version and exit");
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.footer("Exit status: 0 ok, 1 runtime failure, 2 usage error, 4 the rule sources are "
             "invalid (each problem is reported with its file and line).\nSee kv-rulesgen(1).\n");
  if (auto code = parse_command_line(app, argc, argv)) return *code;

  OutputOptions& out = s.output;
  out.format = s.format == "rulefile" ? OutputFormat::rulefile : OutputFormat::prometheusrule;
  out.selection = s.select == "alerts"    ? Selection::alerts
                  : s.select == "records" ? Selection::records
                                          : Selection::all;
  out.deprecated = !s.no_deprecated;
  if (auto why = check_namespace_name(out.install_namespace); !why.empty())
    return usage_error(app, "--namespace: \"" + out.install_namespace + "\": " + why);
  if (auto why = check_object_name(out.object_name); !why.empty())
    return usage_error(app, "--name: \"" + out.object_name + "\": " + why);
  for (const auto& label : s.labels) {
    auto eq = label.find('=');
    if (eq == std::string::npos)
      return usage_error(app, "--label: \"" + label + "\" is not KEY=VALUE");
    std::string key = label.substr(0, eq), value = label.substr(eq + 1);
    if (auto why = check_label_key(key); !why.empty())
      return usage_error(app, "--label: \"" + key + "\": " + why);
    if (auto why = check_label_value(value); !why.empty())
      return usage_error(app, "--label: \"" + value + "\": " + why);
    out.object_labels[key] = value;
  }
  if (out.format == OutputFormat::rulefile &&
      (app.count("--name") > 0 || app.count("--label") > 0))
    return usage_error(app, "--name and --label are for --format prometheusrule; a rule file has "
                            "no name or labels");
  if (auto why = check_runbook_url_template(out.runbook_url_template); !why.empty())
    return usage_error(app, "--runbook-url-template: " + why);
  std::optional<KubevirtVersion> version;
  if (!s.kubevirt_version.empty()) {
    version = parse_user_version(s.kubevirt_version);
    if (!version)
      return usage_error(app, "--kubevirt-version: \"" + s.kubevirt_version +
                                  "\" is not a KubeVirt version (like v1.6 or v1.6.2)");
  }
  setup_logging(kTool, s.log_level);

  std::vector<Diagnostic> problems;
  std::error_code ec;
  if (!std::filesystem::is_directory(s.rules_dir, ec)) {
    spdlog::error("{}: not a directory of rule sources (see --rules-dir)", s.rules_dir);
    return kExitFailure;
  }
  RuleSet set = RuleSet::check(load_rule_sources(s.rules_dir, problems), problems);
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.position.file, a.position.line, a.position.column) <
             std::tie(b.position.file, b.position.line, b.position.column);
    });
    for (const auto& p : problems) spdlog::error("{}", format(p));
    spdlog::error("{} problem{} in the rule sources of {}; nothing written", problems.size(),
                  problems.size() == 1 ? "" : "s", s.rules_dir);
    return kExitInvalidInput;
  }

  std::optional<std::size_t> release;
  if (version) {
    release = set.release_index(*version);
    if (!release)
      return usage_error(app, "--kubevirt-version: " + to_string(*version) +
                                  " is not a release the rule sources know (" +
                                  known_releases(set) + ")");
  }
  if (s.list_releases) {
    std::string text;
    for (const auto& r : set.releases()) text += to_string(r.version) + "\n";
    return write_stdout(text);
  }
  if (s.check) {
    spdlog::info("{}: {} rules for KubeVirt {}, no problems", s.rules_dir, set.rules().size(),
                 known_releases(set));
    return kExitOk;
  }
  if (!s.list && !release)
    return usage_error(app, "--kubevirt-version is required to generate rules (the rule "
                            "sources know " + known_releases(set) + ")");
  if (release && spdlog::should_log(spdlog::level::debug))
    for (std::size_t i = 0; i < set.rules().size(); ++i)
      if (!set.included(i, *release))
        spdlog::debug("{}:{}: {}: left out of {}: {}", set.rules()[i].position.file,
                      set.rules()[i].position.line, describe(set.rules()[i]), to_string(*version),
                      set.left_out_because(i, *release));

  return write_stdout(s.list ? render_list(set, release, out) : render(set, *release, out));
}
