// kv-watch: lists and watches Kubernetes API resources like an informer and
// writes what it sees: watch events (--events) or snapshots of the sample
// stream (kv-sample(5)) on stdout.
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>
#include <system_error>

#include "clock.hpp"
#include "cli.hpp"
#include "duration.hpp"
#include "exit_codes.hpp"
#include "http_client.hpp"
#include "kube_client.hpp"
#include "kube_config.hpp"
#include "kv-watch/builtin_configs.hpp"
#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/discovery.hpp"
#include "kv-watch/event_stream.hpp"
#include "kv-watch/informer.hpp"
#include "kv-watch/namespace_scope.hpp"
#include "kv-watch/resource_types.hpp"
#include "kv-watch/self_metrics.hpp"
#include "kv-watch/wildcards.hpp"
#include "logging.hpp"
#include "metric_catalog.hpp"
#include "process.hpp"
#include "sample_writer.hpp"

using namespace kv;
using namespace kv::watch;

namespace {

constexpr const char* kTool = "kv-watch";
constexpr const char* kProducer = "kv-watch";

// The CPUs this process may run on (its affinity, as a cpuset limits it),
// at most 4: more threads only help the rare snapshot that evaluates every
// object.
unsigned default_snapshot_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<unsigned>(std::clamp(CPU_COUNT(&set), 1, 4));
}

struct Settings {
  std::vector<std::string> resources;
  std::string config;
  bool events = false;
  bool once = false;
  std::string interval = "15s";
  std::string replay;
  bool print_resources = false;
  KubeAccessOverrides access;
  std::string ns;
  std::vector<std::string> namespaces;
  std::vector<std::string> exclude_namespaces;
  std::vector<std::string> resource_filter;  // --resources
  std::int32_t shard = 0;
  std::int32_t total_shards = 1;
  std::string label_selector;
  std::string field_selector;
  std::size_t page_size = 500;
  std::string watch_timeout = "5m";
  std::string request_timeout = "30s";
  std::string log_level = "info";
  unsigned snapshot_threads = default_snapshot_threads();
};

void write_error_counts(const ConfigMetrics& metrics, const TransitionMetrics& transitions,
                        const std::function<void(const SampleOut&)>& sink);
std::vector<const crs::ResourceSpec*> resource_specs(const std::vector<ConfiguredResource>& resources);

// Replays a recording as events, keeping only the asked-for resources.
int replay_events(const Settings& s, const std::set<std::string>& wanted) {
  EventWriter out(STDOUT_FILENO);
  std::size_t bad = read_event_recording(s.replay, [&](const ReplayedEvent& e) {
    if (!wanted.empty() && !wanted.count(std::string(e.resource))) return;
    out.write(e.resource, e.type, simdjson::minify(e.object));
  });
  out.flush();
  return bad ? kExitPartial : kExitOk;
}

// A file, or the name of a built-in config when no such file exists.
std::optional<crs::MetricsConfig> load_config(const std::string& path) {
  std::string text, source = path;
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    spdlog::error("{}: is a directory; --config takes a file or a built-in config's name", path);
    return std::nullopt;
  }
  if (std::ifstream in(path); in) {
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  } else if (auto builtin = find_builtin_config(path)) {
    text = *builtin;
    source = "built-in config " + path;
  } else {
    std::string names;
    for (const auto& c : builtin_configs()) names += (names.empty() ? "" : ", ") + std::string(c.name);
    spdlog::error("{}: no such file, and not a built-in config ({})", path, names);
    return std::nullopt;
  }
  try {
    auto config = crs::parse_metrics_config(text, source);
    for (const auto& w : config.warnings) spdlog::warn("{}", w);
    return config;
  } catch (const crs::ConfigError& e) {
    spdlog::error("{}", e.what());
    return std::nullopt;
  }
}

// One snapshot of a config's metrics from a recording of events.
// The events go through the caches as an informer's would, so that the
// Transition metrics observe the recorded updates.
int replay_config(const Settings& s, const std::vector<ConfiguredResource>& resources) {
  TransitionMetrics transitions(resource_specs(resources));
  std::vector<std::unique_ptr<ObjectCache>> caches;
  std::vector<std::vector<const ObjectCache*>> views;
  for (const auto& r : resources) {
    caches.push_back(
        std::make_unique<ObjectCache>(FieldSelection(crs::fields_read(*r.spec)), transitions.observer(*r.spec)));
    views.push_back({caches.back().get()});
  }
  std::size_t events = 0;
  auto e0 = std::chrono::steady_clock::now();
  std::size_t bad = read_event_recording(s.replay, [&](const ReplayedEvent& e) {
    ++events;
    std::string_view api_version, kind;
    bool typed = e.object["apiVersion"].get(api_version) == simdjson::SUCCESS &&
                 e.object["kind"].get(kind) == simdjson::SUCCESS;
    for (std::size_t i = 0; i < resources.size(); ++i) {
      const auto& t = resources[i].type;
      bool match = typed ? api_version == t.api_version() && kind == resources[i].spec->kind : e.resource == t.id();
      if (!match) continue;
      if (e.type == EventType::deleted) caches[i]->erase(object_key(e.object));
      else caches[i]->upsert(e.object);
    }
  });
  spdlog::debug("replay: {} events read and applied in {:.1f} ms", events,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - e0).count());
  SampleWriter out(STDOUT_FILENO);
  ConfigMetrics metrics;
  metrics.set_threads(s.snapshot_threads);
  std::size_t series = 0, objects = 0;
  for (const auto& c : caches) objects += c->size();
  auto t0 = std::chrono::steady_clock::now();
  auto sink = [&](const SampleOut& x) {
    ++series;
    out.write(x);
  };
  std::string lines;
  series += metrics.write(resources, views, lines, &transitions);
  out.write_lines(lines);
  write_error_counts(metrics, transitions, sink);
  out.end_snapshot(kProducer, now_ms());
  spdlog::debug("snapshot: {} series from {} objects in {:.1f} ms", series, objects,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  return bad ? kExitPartial : kExitOk;
}

// The config's resources, or those of them --resources picks. An entry
// that names no resource is an error unless --resources leaves it out.
// Logs what is wrong and returns nullopt, with the exit status in `status`.
std::optional<std::vector<ConfiguredResource>> configured_resources(
    const CLI::App& app, const Settings& s, const crs::MetricsConfig& config, KindLookup lookup,
    const std::function<std::vector<DiscoveredResource>()>& discover, int& status) {
  status = kExitFailure;
  try {
    std::vector<std::string> unresolved;
    auto all = resolve_configured_resources(config, lookup, discover, &unresolved);
    if (s.resource_filter.empty()) {
      for (const auto& why : unresolved) spdlog::error("{}", why);
      if (!unresolved.empty()) return std::nullopt;
      return all;
    }
    auto picked = select_configured_resources(all, s.resource_filter, discover, unresolved);
    for (const auto& why : unresolved) spdlog::info("{}; not watched: --resources leaves it out", why);
    return picked;
  } catch (const ResourceSelectionError& e) {
    status = usage_error(app, e.what());
  } catch (const crs::ConfigError& e) {
    spdlog::error("{}", e.what());
  } catch (const std::runtime_error& e) {
    spdlog::error("cannot resolve the config's resources: {}", e.what());
  }
  return std::nullopt;
}

// Resolves the config's version and kind wildcards with `served`; logs
// what matches nothing. False (logged) when `served` fails.
bool resolve_wildcards(crs::MetricsConfig& config,
                       const std::function<std::vector<ResourceType>(const std::string& group)>& served) {
  if (!has_wildcard(config)) return true;
  try {
    for (const auto& w : expand_wildcards(config, served)) spdlog::warn("{}", w);
    return true;
  } catch (const std::runtime_error& e) {
    spdlog::error("cannot resolve the config's version and kind wildcards: {}", e.what());
    return false;
  }
}

// The kinds a recording holds, as served resources, for wildcards.
std::vector<ResourceType> recorded_types(const std::string& path) {
  if (path == "-")
    throw std::runtime_error("they are resolved from the kinds the recording holds, so --replay needs a file, "
                             "not stdin");
  std::set<std::pair<std::string, std::string>> seen;  // apiVersion, kind
  read_event_recording(
      path,
      [&](const ReplayedEvent& e) {
        std::string_view api_version, kind;
        if (e.object["apiVersion"].get(api_version) == simdjson::SUCCESS &&
            e.object["kind"].get(kind) == simdjson::SUCCESS)
          seen.emplace(api_version, kind);
      },
      false);  // the replay itself reports bad records
  std::vector<ResourceType> out;
  for (const auto& [api_version, kind] : seen) {
    auto slash = api_version.find('/');
    std::string g = slash == std::string::npos ? "" : api_version.substr(0, slash);
    std::string plural = kind;
    for (auto& ch : plural) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.push_back({g, api_version.substr(slash + 1), plural + "s", kind, true});
  }
  return out;
}

// --print-resources: the RBAC a config needs, known without a server (a
// kind outside the built-in table needs resourcePlural in the config).
int print_resources(const CLI::App& app, const Settings& s, const crs::MetricsConfig* config) {
  ::signal(SIGPIPE, SIG_IGN);  // a reader that went away is EPIPE, below
  std::set<std::string> ids;
  if (config) {
    for (const auto& r : config->resources)
      if (has_wildcard(r)) {
        spdlog::error("{}: a version or kind wildcard names what the API server serves, and --print-resources "
                      "asks no server; name the version and kind",
                      r.where);
        return kExitFailure;
      }
    int status;
    auto resources = configured_resources(app, s, *config, KindLookup::none, nullptr, status);
    if (!resources) return status;
    for (const auto& r : *resources) ids.insert(r.type.id());
  }
  for (const auto& name : s.resources) {
    auto type = resolve_resource(name, nullptr);
    if (!type)  // as when watching: a usage error
      return usage_error(app, "unknown resource \"" + name + "\": name it as group/version/resource");
    ids.insert(type->id());
  }
  for (const auto& id : ids) std::printf("%s\n", id.c_str());
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (errno == EPIPE) return kExitOk;  // the reader went away
    spdlog::error("cannot write to stdout: {}", std::strerror(errno));
    return kExitFailure;
  }
  return kExitOk;
}

// Runs a replay, mapping what goes wrong to an exit status: a reader that
// went away is a quiet success.
int run_replay(const std::function<int()>& replay) {
  try {
    return replay();
  } catch (const std::system_error& e) {
    if (e.code().value() == EPIPE) return kExitOk;
    spdlog::error("cannot write to stdout: {}", e.what());
    return kExitFailure;
  } catch (const std::runtime_error& e) {
    spdlog::error("{}", e.what());
    return kExitFailure;
  }
}

// kv_watch_metric_errors_total: series left out of snapshots and
// observations left out of Transition histograms, per metric.
void write_error_counts(const ConfigMetrics& metrics, const TransitionMetrics& transitions,
                        const std::function<void(const SampleOut&)>& sink) {
  std::map<std::string, std::uint64_t> errors = metrics.errors();
  transitions.add_errors(errors);
  for (const auto& [name, count] : errors)
    sink(catalog_sample<SampleOut>(MetricId::kv_watch_metric_errors_total, SampleOut::Labels{{"metric", name}},
                                   static_cast<double>(count)));
}

std::vector<const crs::ResourceSpec*> resource_specs(const std::vector<ConfiguredResource>& resources) {
  std::vector<const crs::ResourceSpec*> out;
  for (const auto& r : resources) out.push_back(r.spec);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  protect_standard_fds();
  // LIST pages are megabytes, cached objects are bytes: a fixed mmap
  // threshold gives the pages back to the system when they are freed
  // instead of leaving them to fragment the heap the cache lives in.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  Settings s;
  CLI::App app{"Lists and watches Kubernetes API resources like an informer (LIST in pages, "
               "WATCH with bookmarks, relist after 410, a cache that outlives outages) and "
               "writes watch events (--events) or kv_watch_* samples (kv-sample(5)) on stdout.",
               kTool};
  app.add_option("resource", s.resources,
                 "Resources to watch, as kubectl names them (vmis, vmi, vm, vmim, pods, nodes, "
                 "...) or group/version/resource")
      ->type_name("RESOURCE");
  app.add_option("--config", s.config,
                 "Write the metrics that FILE defines (kube-state-metrics' CustomResourceStateMetrics "
                 "format, kv-watch-config(5)), or a built-in config: kubevirt, kube-state; it also "
                 "names the resources to watch")
      ->type_name("FILE|NAME");
  app.add_option("--resources", s.resource_filter,
                 "Only these of the --config's resources (comma-separated or repeated, named as "
                 "the arguments are); without --config, the same as resource arguments")
      ->type_name("RESOURCE,...")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_flag("--events", s.events,
               "Write watch events (ADDED, MODIFIED, DELETED with the object) as NDJSON; the "
               "initial list comes as ADDED");
  app.add_flag("--once", s.once, "List once, write what was found, and exit");
  app.add_option("--interval", s.interval, "Write one snapshot every DURATION (without --events)")
      ->type_name("DURATION")
      ->default_str("15s");
  app.add_option("--replay", s.replay,
                 "Read events recorded by --events from FILE (- for stdin) instead of the API")
      ->type_name("FILE");
  app.add_flag("--print-resources", s.print_resources,
               "Print the resources the --config (or --resources of it) or the arguments name, one "
               "group/version/resource per line, and exit: what kv-watch needs get, list and watch on");
  app.add_option("--kubeconfig", s.access.kubeconfig, "The kubeconfig to use (default $KUBECONFIG, "
                                                      "in-cluster, ~/.kube/config)")
      ->type_name("FILE");
  app.add_option("--context", s.access.context, "The kubeconfig context (default its current-context)")
      ->type_name("NAME");
  app.add_option("--server", s.access.server,
                 "The API server URL; alone it needs no kubeconfig (e.g. http://127.0.0.1:8001 "
                 "behind kubectl proxy)")
      ->type_name("URL");
  app.add_option("--token-file", s.access.token_file,
                 "Read the bearer token from FILE, again whenever it changes")
      ->type_name("FILE");
  app.add_option("--ca-file", s.access.ca_file, "Verify the server with the CA certificates in FILE")
      ->type_name("FILE");
  app.add_option("-n,--namespace", s.ns, "Only this namespace (default: all); --namespaces with one")
      ->type_name("NAMESPACE");
  app.add_option("--namespaces", s.namespaces,
                 "Only these namespaces (comma-separated or repeated): a list and a watch per "
                 "namespace for namespaced resources; cluster-scoped ones (nodes) are watched "
                 "whole")
      ->type_name("NAMESPACE,...")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--exclude-namespaces", s.exclude_namespaces,
                 "Leave out these namespaces (comma-separated or repeated; a field selector on the "
                 "server, or with --namespaces those are not watched)")
      ->type_name("NAMESPACE,...")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--shard", s.shard, "This replica's shard, from 0 (with --total-shards)")
      ->type_name("N")
      ->default_str("0");
  app.add_option("--total-shards", s.total_shards,
                 "Split objects across this many replicas by the hash of their uid, as "
                 "kube-state-metrics does")
      ->type_name("M")
      ->default_str("1")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("-l,--selector", s.label_selector, "Label selector, as kubectl -l")->type_name("SELECTOR");
  app.add_option("--field-selector", s.field_selector, "Field selector, as kubectl --field-selector")
      ->type_name("SELECTOR");
  app.add_option("--page-size", s.page_size, "Objects per LIST page")
      ->type_name("N")
      ->default_str("500")
      ->check(CLI::Range(1, 100000));
  app.add_option("--watch-timeout", s.watch_timeout,
                 "Ask the server to end each watch after DURATION to 2xDURATION (jittered); "
                 "a watch silent for longer is given up")
      ->type_name("DURATION")
      ->default_str("5m");
  app.add_option("--request-timeout", s.request_timeout,
                 "Give up a request that has not answered (or a LIST that stalls) for DURATION")
      ->type_name("DURATION")
      ->default_str("30s");
  app.add_option("--snapshot-threads", s.snapshot_threads,
                 "Threads that evaluate objects when a snapshot has thousands to evaluate (the first, or "
                 "after every object changed); 1 evaluates all on one")
      ->type_name("N")
      ->default_str("the CPUs it may run on, at most 4")
      ->check(CLI::Range(1, 64));
  app.add_option("--log-level", s.log_level, std::string("Log level: ") + kLogLevels)
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->default_str("info");
  app.set_version_flag("--version", [] { return version_string(kTool, "libcurl " + libcurl_version()); },
                       "Print the version and exit");
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.footer("Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 some replayed records were "
             "invalid.\nSee kv-watch(1).\n");
  if (auto code = parse_command_line(app, argc, argv)) return *code;

  auto interval = parse_duration(s.interval);
  auto watch_timeout = parse_duration(s.watch_timeout);
  auto request_timeout = parse_duration(s.request_timeout);
  if (!interval || interval->count() == 0) return usage_error(app, bad_duration("--interval", s.interval, true));
  if (!watch_timeout || watch_timeout->count() < 1000)
    return usage_error(app, "--watch-timeout: \"" + s.watch_timeout + "\" is not a duration of 1s or more (" +
                                kDurationSyntax + ")");
  if (!request_timeout || request_timeout->count() == 0)
    return usage_error(app, bad_duration("--request-timeout", s.request_timeout, true));
  if (s.shard < 0)
    return usage_error(app, "--shard " + std::to_string(s.shard) + " is negative (shards count from 0)");
  if (s.shard >= s.total_shards)
    return usage_error(app, "--shard " + std::to_string(s.shard) + " is not below --total-shards " +
                                std::to_string(s.total_shards));
  NamespaceScope scope;
  try {
    scope = namespace_scope(s.ns, s.namespaces, s.exclude_namespaces);
  } catch (const std::invalid_argument& e) {
    return usage_error(app, e.what());
  }
  if (!s.config.empty() && s.events)
    return usage_error(app, "--config and --events do not go together: events carry whole objects");
  if (app.count("--interval") && (s.events || s.once))
    return usage_error(app, std::string("--interval is the time between snapshots; ") +
                                (s.events ? "--events writes events, not snapshots"
                                          : "--once writes one snapshot"));
  if (!s.config.empty() && !s.resources.empty())
    return usage_error(app, "with --config the config names the resources; drop the resource arguments "
                            "(--resources picks some of the config's)");
  std::erase(s.resource_filter, "");
  if (s.config.empty()) {
    // Without a config there is nothing to pick from: they are the resources to watch.
    s.resources.insert(s.resources.end(), s.resource_filter.begin(), s.resource_filter.end());
    s.resource_filter.clear();
  }
  if (!s.replay.empty() && !s.events && s.config.empty())
    return usage_error(app, "--replay needs --events or --config");
  if (s.replay.empty() && s.resources.empty() && s.config.empty())
    return usage_error(app, "name at least one resource to watch (e.g. vmis), or a --config");
  if (s.print_resources && (!s.replay.empty() || s.events))
    return usage_error(app, "--print-resources goes with --config or resource arguments alone");
  setup_logging(kTool, s.log_level);
  std::optional<crs::MetricsConfig> config;
  if (!s.config.empty()) {
    config = load_config(s.config);
    if (!config) return kExitFailure;
  }

  if (s.print_resources) return print_resources(app, s, config ? &*config : nullptr);

  if (!s.replay.empty()) {
    std::set<std::string> wanted;
    for (const auto& name : s.resources) {
      auto type = resolve_resource(name, nullptr);
      if (!type) return usage_error(app, "unknown resource \"" + name + "\"");
      wanted.insert(type->id());
    }
    std::vector<ConfiguredResource> resources;
    if (config) {
      // The recording is read once, however many groups have wildcards.
      std::optional<std::vector<ResourceType>> recorded;
      auto of_group = [&](const std::string& group) {
        if (!recorded) recorded = recorded_types(s.replay);
        std::vector<ResourceType> out;
        for (const auto& t : *recorded)
          if (t.group == group) out.push_back(t);
        return out;
      };
      if (!resolve_wildcards(*config, of_group)) return kExitFailure;
      int status;
      auto picked = configured_resources(app, s, *config, KindLookup::guess_plural, nullptr, status);
      if (!picked) return status;
      resources = std::move(*picked);
    }
    return run_replay([&] { return config ? replay_config(s, resources) : replay_events(s, wanted); });
  }

  KubeAccess access;
  try {
    access = resolve_kube_access(s.access, KubeEnvironment::from_process());
  } catch (const KubeConfigError& e) {
    spdlog::error("{}", e.what());
    return kExitFailure;
  }
  spdlog::debug("API server {} ({})", access.server, access.origin);
  KubeRequestLimits limits;
  limits.response_timeout = *request_timeout;
  limits.connect_timeout = std::min<std::chrono::milliseconds>(*request_timeout, std::chrono::seconds(10));
  auto token = std::make_shared<BearerToken>(access);

  // Is it a Kubernetes API at all? An unreachable one is retried by the
  // informers; a wrong CA or a server of another kind is a setup error.
  KubeSession probe_session(access, token);
  ApiProbe probe = probe_api(probe_session, limits);
  switch (probe.outcome) {
    case ApiProbe::Outcome::kubernetes: break;
    case ApiProbe::Outcome::tls_failure:
      // With --server there is no kubeconfig: only --ca-file sets the CA.
      spdlog::error("{}: TLS failed: {}; check the CA ({}) and the client certificate", access.server,
                    probe.message,
                    access.origin == "--server" ? std::string("--ca-file")
                                                : "certificate-authority in " + access.origin + ", or --ca-file");
      return kExitFailure;
    case ApiProbe::Outcome::not_kubernetes:
      spdlog::error("{}: {}; is --server (or the kubeconfig's server) a Kubernetes API server?",
                    access.server, probe.message);
      return kExitFailure;
    case ApiProbe::Outcome::unreachable:
    case ApiProbe::Outcome::unauthorized:
      if (s.once) {
        spdlog::error("{}: {}", access.server, probe.message);
        return kExitFailure;
      }
      spdlog::warn("{}: {}; retrying", access.server, probe.message);
      break;
  }

  std::vector<ResourceType> types;
  std::vector<FieldSelection> fields;
  std::optional<std::vector<DiscoveredResource>> discovered;
  auto discover = [&]() -> std::vector<DiscoveredResource> {
    if (!discovered) discovered = discover_resources(probe_session, limits);
    return *discovered;
  };
  std::vector<ConfiguredResource> configured;
  std::set<std::string> looked_up;  // resources that lookups read, with --total-shards
  std::vector<std::shared_ptr<UpdateObserver>> observers;
  TransitionMetrics transitions;
  if (config) {
    if (!resolve_wildcards(*config, [&](const std::string& g) { return discover_group(probe_session, limits, g); }))
      return kExitFailure;
    int status;
    auto picked = configured_resources(app, s, *config, KindLookup::discovery, discover, status);
    if (!picked) return status;
    configured = std::move(*picked);
    transitions = TransitionMetrics(resource_specs(configured));
    for (const auto& c : configured) {
      types.push_back(c.type);
      fields.emplace_back(crs::fields_read(*c.spec));
      // Looked up, cached whole with --total-shards: its own metrics then
      // pick this shard's objects by uid.
      if (s.total_shards > 1 && is_looked_up(*c.spec, configured)) {
        fields.back().add("metadata.uid");
        looked_up.insert(c.type.id());
      }
      observers.push_back(transitions.observer(*c.spec));
    }
  }
  for (const auto& name : s.resources) {
    std::optional<ResourceType> type;
    try {
      type = resolve_resource(name, discover);
    } catch (const std::runtime_error& e) {
      spdlog::error("cannot resolve resource \"{}\": {}", name, e.what());
      return kExitFailure;
    }
    if (!type)
      return usage_error(app, "unknown resource \"" + name + "\": the API server does not serve it "
                              "(kubectl api-resources lists what it serves)");
    if (std::none_of(types.begin(), types.end(), [&](const auto& t) { return t.id() == type->id(); })) {
      types.push_back(*type);
      fields.emplace_back();
      observers.emplace_back();
    }
  }

  int signal_fd = termination_signal_fd();
  StopSignal stop;
  EventWriter events(STDOUT_FILENO);
  std::atomic<bool> output_failed{false};
  std::atomic<int> output_errno{0};
  ChangeHandler on_change;
  if (s.events) {
    on_change = [&](const ResourceType& type, EventType event, std::string_view object) {
      try {
        events.write(type.id(), event, object);
      } catch (const std::system_error& e) {
        output_errno = e.code().value();
        output_failed = true;
        stop.request();
      }
    };
  }
  InformerSettings base;
  base.label_selector = s.label_selector;
  base.field_selector = s.field_selector;
  for (const auto& ns : scope.excluded)
    base.field_selector += (base.field_selector.empty() ? "" : ",") + ("metadata.namespace!=" + ns);
  base.sharding = {s.shard, s.total_shards};
  base.page_size = s.page_size;
  base.watch_timeout = std::chrono::duration_cast<std::chrono::seconds>(*watch_timeout);
  base.limits = limits;
  base.list_only = s.once;
  // As kube-state-metrics does: a namespaced resource gets an informer per
  // namespace of --namespaces (a Role in each is enough), a cluster-scoped
  // one a single informer.
  std::vector<std::unique_ptr<Informer>> informers;
  std::vector<std::vector<const Informer*>> informers_of(types.size());
  for (std::size_t i = 0; i < types.size(); ++i) {
    std::vector<std::string> namespaces{""};
    if (types[i].namespaced && !scope.namespaces.empty()) namespaces = scope.namespaces;
    for (const auto& ns : namespaces) {
      InformerSettings settings = base;
      settings.ns = ns;
      if (looked_up.count(types[i].id())) settings.sharding = {};  // a lookup must find every object
      // What lookups alone read, by a fieldSelector: only those objects are listed.
      if (i < configured.size() && !configured[i].spec->field_selector.empty())
        settings.field_selector += (settings.field_selector.empty() ? "" : ",") + configured[i].spec->field_selector;
      informers.push_back(std::make_unique<Informer>(types[i], settings, access, token, fields[i], on_change,
                                                     s.events, stop, observers[i]));
      informers_of[i].push_back(informers.back().get());
    }
  }
  const std::int64_t started_ms = now_ms();
  for (auto& inf : informers) inf->start();

  SampleWriter samples(STDOUT_FILENO);
  ConfigMetrics config_metrics;
  config_metrics.set_sharding(base.sharding);
  config_metrics.set_threads(s.snapshot_threads);
  auto write_snapshot = [&] {
    auto sink = [&](const SampleOut& x) { samples.write(x); };
    // A resource's metrics appear once its first list is complete, never
    // from half a list (kv_watch_synced tells which are missing); watched
    // per namespace, each namespace counts once its own list is complete,
    // so that one that cannot be listed does not hide the others.
    std::vector<ConfiguredResource> ready;
    std::vector<std::vector<const ObjectCache*>> caches;
    for (std::size_t i = 0; i < configured.size(); ++i) {
      std::vector<const ObjectCache*> synced;
      for (const Informer* inf : informers_of[i])
        if (inf->synced()) synced.push_back(&inf->cache());
      if (synced.empty()) continue;
      ready.push_back(configured[i]);
      caches.push_back(std::move(synced));
    }
    std::string lines;
    auto t0 = std::chrono::steady_clock::now();
    std::size_t series = config_metrics.write(ready, caches, lines, &transitions);
    samples.write_lines(lines);
    if (config) {
      std::size_t objects = 0;
      for (const auto& c : caches)
        for (const ObjectCache* cache : c) objects += cache->size();
      spdlog::debug("snapshot: {} series from {} objects in {:.1f} ms", series, objects,
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    emit_self_metrics(informers, now_ms(), started_ms, sink);
    write_error_counts(config_metrics, transitions, sink);
    samples.end_snapshot(kProducer, now_ms());
  };
  int exit_code = kExitOk;
  auto next_snapshot = std::chrono::steady_clock::now();
  try {
    for (;;) {
      // A pipe whose reader went away says so on its write end (POLLERR):
      // a quiet stream (--events on an idle cluster) must not wait for its
      // next line to notice.
      pollfd pfds[2] = {{signal_fd, POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
      if (::poll(pfds, 2, 100) > 0) {
        if (pfds[0].revents) {
          spdlog::info("received a signal, exiting");
          break;
        }
        if (pfds[1].revents & POLLERR) break;  // as a write's EPIPE: a quiet exit
      }
      if (s.events) events.flush();
      if (output_failed) break;
      bool all_finished = std::all_of(informers.begin(), informers.end(), [](auto& i) { return i->finished(); });
      if (s.once && all_finished) {
        bool failed = std::any_of(informers.begin(), informers.end(), [](auto& i) { return i->failed(); });
        if (failed) exit_code = kExitFailure;
        else if (!s.events) write_snapshot();
        break;
      }
      if (!s.events && !s.once && std::chrono::steady_clock::now() >= next_snapshot) {
        write_snapshot();
        next_snapshot += *interval;
      }
    }
    if (s.events && !output_failed) events.flush();
  } catch (const std::system_error& e) {
    output_errno = e.code().value();
    output_failed = true;
  }
  stop.request();
  for (auto& inf : informers) inf->join();
  if (output_failed) {
    if (output_errno == EPIPE) return kExitOk;  // the reader went away
    spdlog::error("cannot write to stdout: {}", std::strerror(output_errno));
    return kExitFailure;
  }
  return exit_code;
}
