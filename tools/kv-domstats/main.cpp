// kv-domstats: libvirt domain statistics as KubeVirt's kubevirt_vmi_*
// samples, on stdout as the sample stream (kv-sample(5)).
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "atomic_file.hpp"
#include "clock.hpp"
#include "cli.hpp"
#include "duration.hpp"
#include "exit_codes.hpp"
#include "kv-domstats/collector.hpp"
#include "kv-domstats/dirty_rate.hpp"
#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/domain_workers.hpp"
#include "kv-domstats/ephemeral.hpp"
#include "kv-domstats/event_loop.hpp"
#include "kv-domstats/guest_agent.hpp"
#include "kv-domstats/panics.hpp"
#include "kv-domstats/raw_records.hpp"
#include "kv-domstats/self_metrics.hpp"
#include "logging.hpp"
#include "process.hpp"
#include "sample_writer.hpp"

using namespace kv;
using namespace kv::domstats;

namespace {

constexpr const char* kTool = "kv-domstats";
constexpr const char* kProducer = "kv-domstats";

std::string libvirt_version() {
  unsigned long v = 0;
  if (virGetVersion(&v, nullptr, nullptr) != 0) return "libvirt unknown";
  return "libvirt " + std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." +
         std::to_string(v % 1000);
}

std::string default_node() {
  if (const char* n = std::getenv("NODE_NAME"); n && *n) return n;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

struct Settings {
  CollectorOptions collector;
  MappingOptions mapping;
  bool once = false;
  std::string interval = "15s";
  std::string timeout = "10s";
  std::string keep_ephemeral = "0";
  bool guest_agent = false;
  std::string guest_agent_timeout = "2s";
  std::string guest_agent_interval = "60s";
  bool dirty_rate = false;
  std::string dirty_rate_interval = "60s";
  std::string keep_panics = "24h";
  bool raw = false;
  std::string replay;
  bool self_metrics = true;
  std::string log_level = "info";
};

// Sorts by VM so the output is the same for the same state.
void sort_domains(std::vector<DomainResult>& domains) {
  std::sort(domains.begin(), domains.end(), [](const DomainResult& a, const DomainResult& b) {
    return std::tie(a.record.name, a.record.source) < std::tie(b.record.name, b.record.source);
  });
}

// Counts a cycle's crashes, and keeps the counts of the VMs it has.
void count_panics(PanicCounter& counter, const std::vector<PanicRecord>& panics,
                  const std::vector<DomainResult>& domains) {
  std::int64_t now = now_ms();
  for (const auto& p : panics) counter.observe(p, now);
  for (const auto& d : domains)
    if (auto id = kubevirt_identity(d.record.name)) counter.seen(*id, now);
  counter.expire(now);
}

void write_snapshot(SampleWriter& out, const std::vector<DomainResult>& domains,
                    const std::vector<HostRecord>& hosts, const PanicCounter& panics,
                    const CycleResult* cycle, const Settings& s) {
  SampleSink sink = [&](const SampleOut& sample) { out.write(sample); };
  for (const auto& d : domains) map_domain(d.record, s.mapping, sink);
  panics.emit(sink);
  map_hosts(hosts, s.mapping.node, sink);
  if (cycle && s.self_metrics) emit_self_metrics(*cycle, s.mapping.node, sink);
  out.end_snapshot(kProducer, now_ms());
}

void write_raw(const std::vector<DomainResult>& domains, const std::vector<PanicRecord>& panics,
               const std::vector<HostRecord>& hosts) {
  std::string buf;
  for (const auto& d : domains) append_raw_record(buf, d.record);
  for (const auto& p : panics) append_raw_panic(buf, p);
  for (const auto& h : hosts) append_raw_host(buf, h);
  append_raw_cycle_end(buf);
  write_all(STDOUT_FILENO, buf);
}

}  // namespace

int main(int argc, char** argv) {
  // The threads (reads, per-domain calls, workers) mostly wait on libvirt:
  // one malloc arena for all, not one each, keeps the peak RSS of --once at
  // 100 domains 0.6 MiB lower, for no CPU that shows.
  mallopt(M_ARENA_MAX, 1);
  protect_standard_fds();
  Settings s;
  s.mapping.node = default_node();
  CLI::App app{"Reads libvirt domain statistics (read-only, one bulk call per connection, never "
               "blocked by a stuck VM) and writes KubeVirt's kubevirt_vmi_* metrics as the "
               "sample stream (NDJSON) on stdout.",
               kTool};
  app.add_option("--uri", s.collector.uris,
                 "libvirt connection URI (repeatable; default qemu:///system unless "
                 "--socket-glob is given)")
      ->type_name("URI")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  app.add_option("--socket-glob", s.collector.socket_globs,
                 "Read every libvirt socket matching PATTERN, as KubeVirt's per-VM launcher "
                 "sockets; matches are looked up again every cycle (repeatable)")
      ->type_name("PATTERN")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  app.add_option("--socket-uri", s.collector.socket_uri,
                 "URI for each --socket-glob match; {} stands for the socket path")
      ->type_name("TEMPLATE")
      ->default_str(s.collector.socket_uri);
  app.add_option("--node", s.mapping.node, "The node label (default $NODE_NAME, else the host name)")
      ->type_name("NAME");
  app.add_flag("--once", s.once, "Write one snapshot and exit");
  app.add_option("--interval", s.interval, "Write one snapshot every DURATION, the first at once")
      ->type_name("DURATION")
      ->default_str("15s");
  app.add_option("--timeout", s.timeout,
                 "Deadline of one cycle: a connection not read by then keeps its last values")
      ->type_name("DURATION")
      ->default_str("10s");
  app.add_option("--max-in-flight", s.collector.max_in_flight,
                 "Connections read at the same time, at most")
      ->type_name("N")
      ->default_str("8")
      ->check(CLI::Range(1, 1024));
  app.add_flag("--emit-all", s.mapping.emit_all,
               "Every known series of every domain: 0 for counters and NaN for gauges that "
               "libvirt did not report");
  app.add_option("--keep-ephemeral", s.keep_ephemeral,
                 "Keep a domain's last migration progress values for DURATION after its job "
                 "ended (0: drop them at once)")
      ->type_name("DURATION")
      ->default_str("0");
  app.add_flag("--guest-agent", s.guest_agent,
               "Also read each VM's filesystems and load from its QEMU guest agent, on a "
               "read-write connection (libvirt refuses agent commands on a read-only one)");
  app.add_option("--guest-agent-timeout", s.guest_agent_timeout,
                 "Wait at most DURATION for each guest-agent command (whole seconds)")
      ->type_name("DURATION")
      ->default_str("2s");
  app.add_option("--guest-agent-interval", s.guest_agent_interval,
                 "Ask each guest agent again every DURATION; snapshots in between carry the "
                 "last answers")
      ->type_name("DURATION")
      ->default_str("60s");
  app.add_flag("--dirty-rate", s.dirty_rate,
               "Also measure each running VM's memory dirty rate, one 1 s calculation per "
               "--dirty-rate-interval, on a read-write connection (libvirt refuses to start one "
               "on a read-only one)");
  app.add_option("--dirty-rate-interval", s.dirty_rate_interval,
                 "Measure each VM's dirty rate again every DURATION; snapshots in between carry "
                 "the last value")
      ->type_name("DURATION")
      ->default_str("60s");
  app.add_option("--domain-log", s.collector.domain_log,
                 "A domain's log, where libvirt writes what a guest panic reported; {domain} "
                 "stands for the domain name, {socket_dir} for the directory of the connection's "
                 "socket")
      ->type_name("TEMPLATE")
      ->default_str(s.collector.domain_log);
  app.add_option("--keep-panics", s.keep_panics,
                 "Keep a VM's guest panic counts for DURATION after it was last seen")
      ->type_name("DURATION")
      ->default_str("24h");
  app.add_flag("--raw", s.raw, "Write what libvirt returned (kv-domstats' raw records) instead "
                               "of samples, for debugging and for --replay");
  app.add_option("--replay", s.replay, "Read raw records from FILE instead of libvirt")
      ->type_name("FILE");
  app.add_flag_callback("--no-self-metrics", [&s] { s.self_metrics = false; },
                        "Do not write kv_domstats_* metrics");
  app.add_option("--log-level", s.log_level, std::string("Log level: ") + kLogLevels)
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}))
      ->default_str("info");
  app.set_version_flag("--version", [] { return version_string(kTool, libvirt_version()); },
                       "Print the version and exit");
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.footer("Exit status: 0 ok, 1 runtime failure, 2 usage error.\nSee kv-domstats(1).\n");
  if (auto code = parse_command_line(app, argc, argv)) return *code;

  if (s.once && app.count("--interval"))
    return usage_error(app, "--once and --interval exclude each other: one snapshot, or one "
                            "every DURATION");
  for (const auto& uri : s.collector.uris)
    if (uri.empty()) return usage_error(app, "--uri: the URI is empty (like qemu:///system)");
  for (const auto& pattern : s.collector.socket_globs)
    if (pattern.empty())
      return usage_error(app, "--socket-glob: the pattern is empty (like '/pods/*/sock')");
  if (s.collector.socket_uri.find("{}") == std::string::npos)
    return usage_error(app, "--socket-uri: \"" + s.collector.socket_uri +
                                "\" has no {} for the socket path (like "
                                "'qemu+unix:///session?socket={}')");
  if (s.mapping.node.empty())
    return usage_error(app, "--node: the node name is empty (give --node NAME, or set $NODE_NAME)");
  // Whole numbers with units; "positive" ones are more than 0.
  auto duration = [&](const char* option, const std::string& text, bool positive) {
    auto d = parse_duration(text);
    if (d && (!positive || d->count() > 0)) return d;
    usage_error(app, bad_duration(option, text, positive));
    return std::optional<std::chrono::milliseconds>();
  };
  auto interval = duration("--interval", s.interval, true);
  if (!interval) return kExitUsage;
  auto timeout = duration("--timeout", s.timeout, true);
  if (!timeout) return kExitUsage;
  s.collector.timeout = *timeout;
  auto keep_ephemeral = duration("--keep-ephemeral", s.keep_ephemeral, false);
  if (!keep_ephemeral) return kExitUsage;
  auto agent_timeout = duration("--guest-agent-timeout", s.guest_agent_timeout, true);
  if (!agent_timeout) return kExitUsage;
  auto agent_interval = duration("--guest-agent-interval", s.guest_agent_interval, true);
  if (!agent_interval) return kExitUsage;
  GuestAgentOptions agent_options;
  // libvirt takes the agent timeout in whole seconds: round up.
  agent_options.timeout = std::chrono::ceil<std::chrono::seconds>(*agent_timeout);
  agent_options.interval = *agent_interval;
  auto dirty_interval = duration("--dirty-rate-interval", s.dirty_rate_interval, true);
  if (!dirty_interval) return kExitUsage;
  DirtyRateOptions dirty_options;
  dirty_options.interval = *dirty_interval;
  auto keep_panics = duration("--keep-panics", s.keep_panics, false);
  if (!keep_panics) return kExitUsage;
  s.mapping.dirty_rate = s.dirty_rate;
  if (s.collector.uris.empty() && s.collector.socket_globs.empty())
    s.collector.uris.push_back("qemu:///system");
  setup_logging(kTool, s.log_level);
  // libvirt would print its errors on stderr itself; ours say more.
  virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});

  int signal_fd = termination_signal_fd();
  s.collector.stop_fd = signal_fd;

  SampleWriter out(STDOUT_FILENO);
  PanicCounter panics(keep_panics->count());
  try {
    if (!s.replay.empty()) {
      read_raw_recording(s.replay, [&](RawCycle& cycle) {
        std::vector<DomainResult> domains;
        for (auto& r : cycle.domains)
          domains.push_back({std::move(r), 0, false, std::nullopt, std::nullopt});
        sort_domains(domains);
        if (s.raw) {
          write_raw(domains, cycle.panics, cycle.hosts);
        } else {
          count_panics(panics, cycle.panics, domains);
          write_snapshot(out, domains, cycle.hosts, panics, nullptr, s);
        }
      });
      return kExitOk;
    }
    // Lifecycle events need an event loop, registered before any connection
    // is opened. A single snapshot would only see the panics of its second.
    s.collector.events = !s.once;
    if (s.collector.events) event_loop::start();
    Collector collector(s.collector);
    EphemeralMemory ephemeral(*keep_ephemeral);
    std::vector<std::shared_ptr<const DomainTask>> tasks;
    if (s.guest_agent) tasks.push_back(make_guest_agent_task(agent_options));
    if (s.dirty_rate) tasks.push_back(make_dirty_rate_task(dirty_options));
    std::optional<DomainWorkers> workers;
    if (!tasks.empty()) workers.emplace(std::move(tasks), s.collector.max_in_flight);
    for (;;) {
      auto cycle_start = std::chrono::steady_clock::now();
      CycleResult cycle = collector.collect();
      if (signal_pending(signal_fd)) break;  // without waiting for reads stuck in libvirt
      if (workers) {
        workers->update(cycle.domains);
        // One snapshot only: give the refreshes it started their time
        // (the agent timeout, a dirty-rate calculation), within the cycle's
        // deadline.
        if (s.once) {
          workers->wait(std::min(cycle_start + *timeout,
                                 std::chrono::steady_clock::now() + workers->once_wait()));
          workers->update(cycle.domains);
        }
      }
      for (const auto& src : cycle.sources) {
        if (!src.error.empty() && !src.up) spdlog::warn("{}", src.error);
        if (src.stuck) spdlog::warn("{}: a read has not returned within {}; keeping its last values",
                                    src.uri, format_duration(*timeout));
      }
      sort_domains(cycle.domains);
      if (keep_ephemeral->count() > 0) ephemeral.apply(cycle.domains, now_ms());
      if (s.raw) {
        write_raw(cycle.domains, cycle.panics, cycle.hosts);
      } else {
        count_panics(panics, cycle.panics, cycle.domains);
        write_snapshot(out, cycle.domains, cycle.hosts, panics, &cycle, s);
      }
      if (s.once) break;
      if (wait_for_signal(signal_fd, cycle_start + *interval)) break;
    }
    if (signal_pending(signal_fd)) spdlog::info("received a signal, exiting");
  } catch (const std::system_error& e) {
    if (e.code().value() == EPIPE) std::_Exit(kExitOk);  // the reader went away
    spdlog::error("cannot write to stdout: {}", e.what());
    std::_Exit(kExitFailure);
  } catch (const std::runtime_error& e) {
    spdlog::error("{}", e.what());
    return kExitFailure;
  }
  // Reads stuck in libvirt may still be running; do not wait for them.
  std::_Exit(kExitOk);
}
