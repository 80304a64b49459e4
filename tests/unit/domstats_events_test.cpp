// kv-domstats' guest panics, deprecated machine types and dirty rate: the
// pure parts (panic information, counting, capabilities, dirty-rate
// values, raw records, self-metrics) and the event loop against libvirt's
// public event API.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "kv-domstats/dirty_rate_data.hpp"
#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/event_loop.hpp"
#include "kv-domstats/libvirt_reader.hpp"
#include "kv-domstats/panics.hpp"
#include "kv-domstats/raw_records.hpp"
#include "kv-domstats/self_metrics.hpp"

namespace kv::domstats {
namespace {

std::filesystem::path fixture(const std::string& name) {
  // Beside this file, in tests/unit.
  return std::filesystem::path(__FILE__).parent_path() / name;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/kv-domstats-unit.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

// --- panic information -----------------------------------------------------

TEST(DomstatsPanicInfo, HyperVArgumentsAsKubeVirtLabelsThem) {
  auto l = panic_labels("hyper-v: arg1='0x7e', arg2='0xffffffffc0000005', arg3='0x1', "
                        "arg4='0x2', arg5='0x3'");
  EXPECT_EQ(l.type, "hyper-v");
  EXPECT_EQ(l.bugcheck_code, "0x7e");
  // Upper-case hex reads the same; the code is written lower-case, no padding.
  EXPECT_EQ(panic_labels("hyper-v: arg1='0x000000000000009F'").bugcheck_code, "0x9f");
  // KubeVirt's "unknown": no information, or an arg1 of 0.
  EXPECT_EQ(panic_labels(std::nullopt), (PanicLabels{"unknown", "unknown"}));
  EXPECT_EQ(panic_labels("hyper-v: arg1='0x0', arg2='0x0'"), (PanicLabels{"hyper-v", "unknown"}));
  EXPECT_EQ(panic_labels("s390: core='0' psw-mask='0x0002000180000000' reason='disabled-wait'"),
            (PanicLabels{"s390", "unknown"}));
  EXPECT_EQ(panic_labels("no type here"), (PanicLabels{"unknown", "unknown"}));
}

TEST(DomstatsPanicInfo, LinesLibvirtWritesToTheDomainLog) {
  EXPECT_EQ(panic_info_of_line("2026-11-23 07:00:00.123+0000: panic hyper-v: arg1='0x7e', "
                               "arg2='0x0'\n"),
            "hyper-v: arg1='0x7e', arg2='0x0'");
  EXPECT_EQ(panic_info_of_line("2026-11-23 07:00:00.123+0000: starting up libvirt version: 9.0.0"),
            std::nullopt);
  // QEMU's own output that merely mentions a panic is not libvirt's line.
  EXPECT_EQ(panic_info_of_line("qemu: guest panic: something"), std::nullopt);
  EXPECT_EQ(panic_info_of_line("x: panic no colon"), std::nullopt);
}

TEST(DomstatsPanicInfo, TheLastPanicLineOfTheLog) {
  TempDir dir;
  auto log = dir.path / "default_vm1.log";
  {
    std::ofstream out(log);
    out << "2026-11-23 06:00:00.000+0000: starting up libvirt version: 9.0.0\n"
        << "2026-11-23 06:10:00.000+0000: panic hyper-v: arg1='0x50', arg2='0x1'\n"
        << "2026-11-23 06:20:00.000+0000: shutting down, reason=crashed\n"
        << "2026-11-23 07:00:00.000+0000: starting up libvirt version: 9.0.0\n"
        << "2026-11-23 07:10:00.000+0000: panic hyper-v: arg1='0x7e', arg2='0x2'\n"
        << "char device redirected to /dev/pts/3 (label charserial0)\n";
  }
  EXPECT_EQ(read_panic_line(log.string()), "hyper-v: arg1='0x7e', arg2='0x2'");
  // Within the last bytes only; a line cut at the start is not trusted.
  EXPECT_EQ(read_panic_line(log.string(), 60), std::nullopt);
  std::ofstream(dir.path / "quiet.log") << "2026-11-23 07:00:00.000+0000: starting up\n";
  EXPECT_EQ(read_panic_line((dir.path / "quiet.log").string()), std::nullopt);
  std::ofstream(dir.path / "empty.log").flush();
  EXPECT_EQ(read_panic_line((dir.path / "empty.log").string()), std::nullopt);
  EXPECT_THROW(read_panic_line((dir.path / "missing.log").string()), std::runtime_error);
  EXPECT_THROW(read_panic_line(dir.path.string()), std::runtime_error);  // a directory
}

TEST(DomstatsPanicInfo, DomainLogPathFromTheTemplate) {
  EXPECT_EQ(domain_log_path("/var/log/libvirt/qemu/{domain}.log", "qemu:///system", "ns_vm"),
            "/var/log/libvirt/qemu/ns_vm.log");
  // KubeVirt's per-VM launchers: the log is in the pod's "private" emptyDir
  // beside the "libvirt-runtime" one that holds the socket.
  EXPECT_EQ(domain_log_path("{socket_dir}/../private/libvirt/qemu/log/{domain}.log",
                            "qemu+unix:///session?socket=/pods/p1/volumes/kubernetes.io~empty-dir/"
                            "libvirt-runtime/virtqemud-sock",
                            "ns_vm"),
            "/pods/p1/volumes/kubernetes.io~empty-dir/libvirt-runtime/../private/libvirt/qemu/log/"
            "ns_vm.log");
  EXPECT_EQ(domain_log_path("{socket_dir}/x", "qemu+unix:///system?mode=legacy&socket=/run/s", "d"),
            "/run/x");
  EXPECT_EQ(domain_log_path("{socket_dir}/{domain}", "qemu:///system", "d"), "/d");
}

// --- counting ----------------------------------------------------------------

std::map<std::string, double> counts(const PanicCounter& counter) {
  std::map<std::string, double> out;
  counter.emit([&](const SampleOut& s) {
    EXPECT_EQ(s.name, "kubevirt_vmi_guest_os_panic_total");
    EXPECT_EQ(s.type, MetricType::counter);
    std::map<std::string, std::string> l;
    for (const auto& [k, v] : s.labels) l.emplace(k, v);
    EXPECT_EQ(l.size(), 4u);  // KubeVirt's: no node
    out[l["namespace"] + "/" + l["name"] + " " + l["type"] + " " + l["bugcheck_code"]] = s.value;
  });
  return out;
}

PanicRecord crash(std::string domain, std::int64_t id, PanicDetail detail,
                  std::optional<std::string> info = std::nullopt) {
  return {"qemu:///system", domain, "uuid-" + domain, id, detail, std::move(info)};
}

TEST(DomstatsPanicCounter, PanickedOncePerRunCrashloadedEveryTime) {
  PanicCounter c(3600'000);
  EXPECT_TRUE(c.observe(crash("ns_vm", 1, PanicDetail::panicked), 1000));
  EXPECT_FALSE(c.observe(crash("ns_vm", 1, PanicDetail::panicked), 2000));  // told again
  EXPECT_TRUE(c.observe(crash("ns_vm", 2, PanicDetail::panicked), 3000));   // restarted
  const std::string kv = "hyper-v: arg1='0x9f', arg2='0x3'";
  EXPECT_TRUE(c.observe(crash("ns_win", 5, PanicDetail::crashloaded, kv), 1000));
  EXPECT_TRUE(c.observe(crash("ns_win", 5, PanicDetail::crashloaded, kv), 2000));
  EXPECT_FALSE(c.observe(crash("notkubevirt", 1, PanicDetail::panicked), 2000));
  EXPECT_EQ(counts(c), (std::map<std::string, double>{{"ns/vm unknown unknown", 2},
                                                      {"ns/win hyper-v 0x9f", 2}}));
}

TEST(DomstatsPanicCounter, KeptWhileSeenAndForAWhileAfter) {
  PanicCounter c(10'000);
  c.observe(crash("ns_gone", 1, PanicDetail::panicked), 1000);
  c.observe(crash("ns_stays", 1, PanicDetail::panicked), 1000);
  c.seen({"ns", "stays"}, 20'000);
  c.expire(10'999);
  EXPECT_EQ(counts(c).size(), 2u);
  c.expire(11'001);  // ns_gone was last seen at 1000
  EXPECT_EQ(counts(c), (std::map<std::string, double>{{"ns/stays unknown unknown", 1}}));
  // Forgotten with its count: its run's PANICKED counts anew, once.
  EXPECT_TRUE(c.observe(crash("ns_gone", 1, PanicDetail::panicked), 12'000));
  EXPECT_FALSE(c.observe(crash("ns_gone", 1, PanicDetail::panicked), 12'000));
}

// --- capabilities -------------------------------------------------------------

TEST(DomstatsCapabilities, DeprecatedMachineTypesOfARecordedHost) {
  // virsh capabilities of Debian 12 (QEMU 7.2, x86_64 and i686 guests).
  std::string xml = slurp(fixture("domstats_capabilities_qemu72.xml"));
  ASSERT_FALSE(xml.empty());
  EXPECT_EQ(parse_deprecated_machine_types(xml),
            (std::vector<std::string>{"pc-i440fx-1.4", "pc-i440fx-1.5", "pc-i440fx-1.6",
                                      "pc-i440fx-1.7"}));
  EXPECT_TRUE(parse_deprecated_machine_types("<capabilities/>").empty());
  EXPECT_THROW(parse_deprecated_machine_types("not xml"), std::runtime_error);
}

TEST(DomstatsCapabilities, EachMachineTypeOncePerNode) {
  std::vector<HostRecord> hosts{{"a", {"pc-1", "pc-2"}}, {"b", {"pc-2", "pc-3"}}, {"c", {}}};
  std::vector<std::string> got;
  map_hosts(hosts, "node01", [&](const SampleOut& s) {
    EXPECT_EQ(s.name, "kubevirt_node_deprecated_machine_types");
    EXPECT_EQ(s.value, 1);
    ASSERT_EQ(s.labels.size(), 2u);
    EXPECT_EQ(s.labels[1].second, "node01");
    got.emplace_back(s.labels[0].second);
  });
  EXPECT_EQ(got, (std::vector<std::string>{"pc-1", "pc-2", "pc-3"}));
}

// --- dirty rate ----------------------------------------------------------------

Params measured(std::int64_t mb) {
  return {{"dirtyrate.calc_status", std::int64_t(2)},
          {"dirtyrate.calc_period", std::int64_t(1)},
          {"dirtyrate.calc_mode", std::string("page-sampling")},
          {"dirtyrate.megabytes_per_second", mb}};
}

TEST(DomstatsDirtyRate, MegabytesPerSecondAsBytesPerSecond) {
  DomainRecord r;
  r.name = "ns_vm";
  r.dirty_rate = measured(12);
  double got = NAN;
  map_domain(r, {"node01", false}, [&](const SampleOut& s) {
    if (s.name == "kubevirt_vmi_dirty_rate_bytes_per_second") got = s.value;
  });
  EXPECT_EQ(got, 12.0 * 1024 * 1024);
}

TEST(DomstatsDirtyRate, AHangKeepsTheValueAPausedDomainDropsIt) {
  Params kept;
  DirtyRateStatus status;
  apply_dirty_rate(kept, status, {measured(3), std::nullopt, "", 1.2}, 1000);
  EXPECT_TRUE(status.up);
  EXPECT_EQ(status.last_success_ms, 1000);
  EXPECT_EQ(kept, measured(3));
  for (auto keeps : {DirtyRateFailure::timeout, DirtyRateFailure::connection}) {
    apply_dirty_rate(kept, status, {{}, keeps, "x", 5}, 2000);
    EXPECT_FALSE(status.up);
    EXPECT_EQ(kept, measured(3)) << to_string(keeps);
  }
  apply_dirty_rate(kept, status, {{}, DirtyRateFailure::not_running, "paused", 0}, 3000);
  EXPECT_TRUE(kept.empty());
  apply_dirty_rate(kept, status, {measured(4), std::nullopt, "", 1.2}, 4000);
  apply_dirty_rate(kept, status, {{}, DirtyRateFailure::error, "unsupported", 0}, 5000);
  EXPECT_TRUE(kept.empty());
  EXPECT_EQ(status.last_success_ms, 4000);
  EXPECT_EQ(status.errors, (std::array<std::uint64_t, kDirtyRateFailureCount>{1, 1, 1, 1}));
}

TEST(DomstatsDirtyRate, FailuresByLibvirtsCode) {
  EXPECT_EQ(classify_dirty_rate_failure(VIR_ERR_OPERATION_INVALID), DirtyRateFailure::not_running);
  EXPECT_EQ(classify_dirty_rate_failure(VIR_ERR_OPERATION_TIMEOUT), DirtyRateFailure::timeout);
  EXPECT_EQ(classify_dirty_rate_failure(VIR_ERR_RPC), DirtyRateFailure::connection);
  EXPECT_EQ(classify_dirty_rate_failure(VIR_ERR_OPERATION_UNSUPPORTED), DirtyRateFailure::error);
}

TEST(DomstatsDirtyRate, AMigratingDomainIsNotMeasured) {
  DomainRecord r;
  EXPECT_FALSE(migrating(r));
  r.job_type = VIR_DOMAIN_JOB_UNBOUNDED;
  r.job = {{"operation", std::int64_t(VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)}};
  EXPECT_TRUE(migrating(r));
  r.job = {{"operation", std::int64_t(VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN)}};
  EXPECT_TRUE(migrating(r));
  r.job = {{"operation", std::int64_t(VIR_DOMAIN_JOB_OPERATION_DUMP)}};
  EXPECT_FALSE(migrating(r));
}

// --- raw records ------------------------------------------------------------------

TEST(DomstatsRawRecords, CrashesHostsAndDirtyRatesRoundTrip) {
  DomainRecord r;
  r.source = "qemu:///system";
  r.name = "ns_vm";
  r.uuid = "u1";
  r.dirty_rate = measured(7);
  PanicRecord p = crash("ns_vm", 3, PanicDetail::crashloaded, "hyper-v: arg1='0x7e'");
  PanicRecord bare = crash("ns_vm", 3, PanicDetail::panicked);
  HostRecord h{"qemu:///system", {"pc-i440fx-1.4", "pc-i440fx-1.5"}};
  std::string text;
  append_raw_record(text, r);
  append_raw_panic(text, p);
  append_raw_panic(text, bare);
  append_raw_host(text, h);
  append_raw_cycle_end(text);
  TempDir dir;
  auto path = (dir.path / "rec.ndjson").string();
  std::ofstream(path) << text;
  int cycles = 0;
  read_raw_recording(path, [&](RawCycle& c) {
    ++cycles;
    ASSERT_EQ(c.domains.size(), 1u);
    EXPECT_EQ(c.domains[0].dirty_rate, r.dirty_rate);
    ASSERT_EQ(c.panics.size(), 2u);
    EXPECT_EQ(c.panics[0].detail, PanicDetail::crashloaded);
    EXPECT_EQ(c.panics[0].id, 3);
    EXPECT_EQ(c.panics[0].uuid, "uuid-ns_vm");
    EXPECT_EQ(c.panics[0].info, p.info);
    EXPECT_EQ(c.panics[1].info, std::nullopt);
    ASSERT_EQ(c.hosts.size(), 1u);
    EXPECT_EQ(c.hosts[0].source, h.source);
    EXPECT_EQ(c.hosts[0].deprecated_machine_types, h.deprecated_machine_types);
  });
  EXPECT_EQ(cycles, 1);
}

TEST(DomstatsRawRecords, AMalformedCrashIsAnErrorWithTheLine) {
  TempDir dir;
  auto path = (dir.path / "bad.ndjson").string();
  std::ofstream(path) << "{\"end\":\"kv-domstats-raw\"}\n"
                      << "{\"event\":\"crashed\",\"detail\":\"exploded\",\"domain\":\"ns_vm\"}\n";
  try {
    read_raw_recording(path, [](RawCycle&) {});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":2: \"detail\" must be"), std::string::npos) << e.what();
  }
}

// --- self-metrics -------------------------------------------------------------------

TEST(DomstatsEventsSelfMetrics, SourcesAndDirtyRate) {
  CycleResult cycle;
  DomainResult d{};
  d.record.name = "ns1_vm1";
  DirtyRateStatus dirty;
  dirty.up = false;
  dirty.errors[static_cast<std::size_t>(DirtyRateFailure::not_running)] = 2;
  dirty.last_success_ms = 2500;
  d.dirty_rate = dirty;
  cycle.domains.push_back(d);
  SourceStatus with_events;
  with_events.uri = "qemu:///a";
  with_events.events_up = true;
  with_events.capabilities_errors_total = 1;
  with_events.panic_log_errors_total = 4;
  SourceStatus once;  // --once: no events
  once.uri = "qemu:///b";
  cycle.sources = {with_events, once};
  std::map<std::string, double> got;
  emit_self_metrics(cycle, "node01", [&](const SampleOut& s) {
    std::string key(s.name);
    for (const auto& [k, v] : s.labels)
      if (k == "source" || k == "reason") key += "/" + std::string(v);
    if (key.find("dirty_rate") != std::string::npos || key.find("events") != std::string::npos ||
        key.find("capabilities") != std::string::npos || key.find("panic") != std::string::npos)
      got[key] = s.value;
  });
  EXPECT_EQ(got, (std::map<std::string, double>{
                     {"kv_domstats_dirty_rate_up", 0},
                     {"kv_domstats_dirty_rate_stuck", 0},
                     {"kv_domstats_dirty_rate_errors_total/not_running", 2},
                     {"kv_domstats_dirty_rate_last_success_timestamp_seconds", 2.5},
                     {"kv_domstats_source_events_up/qemu:///a", 1},
                     {"kv_domstats_source_capabilities_errors_total/qemu:///a", 1},
                     {"kv_domstats_panic_log_errors_total/qemu:///a", 4},
                     {"kv_domstats_source_capabilities_errors_total/qemu:///b", 0},
                 }));
}

// --- the event loop -----------------------------------------------------------------

TEST(DomstatsEventLoop, TimersHandlesAndFreesThroughLibvirtsApi) {
  event_loop::start();
  event_loop::start();  // once is enough
  ASSERT_TRUE(event_loop::started());

  struct Seen {
    std::atomic<int> fired{0}, freed{0}, readable{0};
  } seen;
  auto wait_for = [](auto done) {
    for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  };

  // A timer of 0 fires on every iteration until disarmed.
  int timer = virEventAddTimeout(
      0,
      [](int id, void* opaque) {
        auto* s = static_cast<Seen*>(opaque);
        if (++s->fired == 3) virEventUpdateTimeout(id, -1);
      },
      &seen, [](void* opaque) { ++static_cast<Seen*>(opaque)->freed; });
  ASSERT_GE(timer, 0);
  EXPECT_TRUE(wait_for([&] { return seen.fired.load() >= 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(seen.fired.load(), 3);  // disarmed: no more
  EXPECT_EQ(virEventRemoveTimeout(timer), 0);
  EXPECT_TRUE(wait_for([&] { return seen.freed.load() == 1; }));

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto on_read = [](int, int fd, int events, void* opaque) {
    char c;
    if (events & VIR_EVENT_HANDLE_READABLE && ::read(fd, &c, 1) == 1)
      ++static_cast<Seen*>(opaque)->readable;
  };
  // Outside an AsyncConnections scope a handle is refused: connections
  // opened there stay synchronous.
  EXPECT_EQ(virEventAddHandle(fds[0], VIR_EVENT_HANDLE_READABLE, on_read, &seen, nullptr), -1);
  int watch;
  {
    event_loop::AsyncConnections async;
    watch = virEventAddHandle(fds[0], VIR_EVENT_HANDLE_READABLE, on_read, &seen,
                              [](void* opaque) { ++static_cast<Seen*>(opaque)->freed; });
  }
  ASSERT_GE(watch, 0);
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  EXPECT_TRUE(wait_for([&] { return seen.readable.load() == 1; }));
  // Not watched for now: nothing is dispatched until it is again.
  virEventUpdateHandle(watch, 0);
  ASSERT_EQ(::write(fds[1], "y", 1), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(seen.readable.load(), 1);
  virEventUpdateHandle(watch, VIR_EVENT_HANDLE_READABLE);
  EXPECT_TRUE(wait_for([&] { return seen.readable.load() == 2; }));
  EXPECT_EQ(virEventRemoveHandle(watch), 0);
  EXPECT_EQ(virEventRemoveHandle(watch), -1);
  EXPECT_TRUE(wait_for([&] { return seen.freed.load() == 2; }));
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace kv::domstats
