#include "kv-domstats/domain_metrics.hpp"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "metric_catalog.hpp"

namespace kv::domstats {

std::optional<double> as_number(const ParamValue& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (auto* u = std::get_if<std::uint64_t>(&v)) return static_cast<double>(*u);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

std::optional<VmIdentity> kubevirt_identity(std::string_view domain_name) {
  std::size_t sep = domain_name.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 == domain_name.size() ||
      domain_name.find('_', sep + 1) != std::string_view::npos)
    return std::nullopt;
  return VmIdentity{std::string(domain_name.substr(0, sep)),
                    std::string(domain_name.substr(sep + 1))};
}

std::string_view device_label(std::string_view alias) {
  constexpr std::string_view kUserAlias = "ua-";
  if (alias.starts_with(kUserAlias)) alias.remove_prefix(kUserAlias.size());
  return alias;
}

namespace {

// Unit conversions. Nanoseconds are divided, as KubeVirt does, rather than
// multiplied by 1e-9, so 90000000 ns reads 0.09 s and not 0.09000000000000001.
constexpr double kNanoseconds = -1e9;  // negative: divide by it
constexpr double kKibibytes = 1024;

// One libvirt field, one metric: `scale` converts libvirt's unit to the
// metric's base unit (ns to s, KiB to bytes).
struct FieldMetric {
  std::string_view field;
  std::string_view metric;
  double scale;
};

constexpr FieldMetric kCpuFields[] = {
    {"cpu.time", "kubevirt_vmi_cpu_usage_seconds_total", kNanoseconds},
    {"cpu.user", "kubevirt_vmi_cpu_user_usage_seconds_total", kNanoseconds},
    {"cpu.system", "kubevirt_vmi_cpu_system_usage_seconds_total", kNanoseconds},
};

// virDomainMemoryStats tags, by the names DomainRecord keeps them under.
constexpr FieldMetric kMemoryFields[] = {
    {"rss", "kubevirt_vmi_memory_resident_bytes", kKibibytes},
    {"available", "kubevirt_vmi_memory_available_bytes", kKibibytes},
    {"unused", "kubevirt_vmi_memory_unused_bytes", kKibibytes},
    {"disk_caches", "kubevirt_vmi_memory_cached_bytes", kKibibytes},
    {"swap_in", "kubevirt_vmi_memory_swap_in_traffic_bytes", kKibibytes},
    {"swap_out", "kubevirt_vmi_memory_swap_out_traffic_bytes", kKibibytes},
    {"major_fault", "kubevirt_vmi_memory_pgmajfault_total", 1},
    {"minor_fault", "kubevirt_vmi_memory_pgminfault_total", 1},
    {"actual_balloon", "kubevirt_vmi_memory_actual_balloon_bytes", kKibibytes},
    {"usable", "kubevirt_vmi_memory_usable_bytes", kKibibytes},
};

constexpr FieldMetric kBlockFields[] = {
    {"rd.reqs", "kubevirt_vmi_storage_iops_read_total", 1},
    {"wr.reqs", "kubevirt_vmi_storage_iops_write_total", 1},
    {"rd.bytes", "kubevirt_vmi_storage_read_traffic_bytes_total", 1},
    {"wr.bytes", "kubevirt_vmi_storage_write_traffic_bytes_total", 1},
    {"rd.times", "kubevirt_vmi_storage_read_times_seconds_total", kNanoseconds},
    {"wr.times", "kubevirt_vmi_storage_write_times_seconds_total", kNanoseconds},
    {"fl.reqs", "kubevirt_vmi_storage_flush_requests_total", 1},
    {"fl.times", "kubevirt_vmi_storage_flush_times_seconds_total", kNanoseconds},
};

constexpr FieldMetric kNetFields[] = {
    {"rx.bytes", "kubevirt_vmi_network_receive_bytes_total", 1},
    {"tx.bytes", "kubevirt_vmi_network_transmit_bytes_total", 1},
    {"rx.pkts", "kubevirt_vmi_network_receive_packets_total", 1},
    {"tx.pkts", "kubevirt_vmi_network_transmit_packets_total", 1},
    {"rx.errs", "kubevirt_vmi_network_receive_errors_total", 1},
    {"tx.errs", "kubevirt_vmi_network_transmit_errors_total", 1},
    {"rx.drop", "kubevirt_vmi_network_receive_packets_dropped_total", 1},
    {"tx.drop", "kubevirt_vmi_network_transmit_packets_dropped_total", 1},
};

// The deprecated twin of receive/transmit bytes that KubeVirt still exports.
constexpr std::string_view kTrafficBytes = "kubevirt_vmi_network_traffic_bytes_total";

constexpr FieldMetric kVcpuFields[] = {
    {"time", "kubevirt_vmi_vcpu_seconds_total", kNanoseconds},
    {"wait", "kubevirt_vmi_vcpu_wait_seconds_total", kNanoseconds},
    {"delay", "kubevirt_vmi_vcpu_delay_seconds_total", kNanoseconds},
};

// virVcpuState, as KubeVirt writes it: lower case.
std::string_view vcpu_state_name(std::optional<double> state) {
  if (!state || *state == 0) return "offline";
  if (*state == 1) return "running";
  if (*state == 2) return "blocked";
  return "unknown";
}

class Emitter {
 public:
  Emitter(const VmIdentity& id, const MappingOptions& options, const SampleSink& sink)
      : id_(id), options_(options), sink_(sink) {}

  using Labels = SampleOut::Labels;

  // Emits `metric` when `value` is known, or a placeholder under --emit-all.
  void emit(std::string_view metric, std::optional<double> value, const Labels& extra = {}) {
    if (!value && !options_.emit_all) return;
    // The mapping tables name only catalog counters and gauges (unit-tested).
    const MetricInfo* info = find_metric(metric);
    if (!info) return;
    SampleOut s;
    describe_sample(s, *info);
    if (!value)
      value = s.type == MetricType::counter ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    s.labels.reserve(extra.size() + 3);
    s.labels = extra;
    s.labels.emplace_back("name", id_.name);
    s.labels.emplace_back("namespace", id_.ns);
    s.labels.emplace_back("node", options_.node);
    s.value = *value;
    sink_(s);
    ++count_;
  }

  std::size_t count() const { return count_; }

 private:
  const VmIdentity& id_;
  const MappingOptions& options_;
  const SampleSink& sink_;
  std::size_t count_ = 0;
};

std::optional<double> field(const Params& params, std::string_view name, double scale = 1) {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  auto v = as_number(it->second);
  if (!v) return std::nullopt;
  return scale < 0 ? *v / -scale : *v * scale;
}

std::optional<std::string> string_field(const Params& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  return std::nullopt;
}

std::size_t device_count(const Params& params, std::string_view group) {
  auto n = field(params, std::string(group) + ".count");
  return n && *n > 0 ? static_cast<std::size_t>(*n) : 0;
}

// The label of device `prefix` ("block.0"): its alias, else its name.
std::optional<std::string> device_name(const DomainRecord& r, const std::string& prefix) {
  auto name = string_field(r.stats, prefix + ".name");
  if (!name) return std::nullopt;
  if (auto it = r.aliases.find(*name); it != r.aliases.end() && !it->second.empty())
    return std::string(device_label(it->second));
  return name;
}

}  // namespace

std::size_t map_domain(const DomainRecord& r, const MappingOptions& options,
                       const SampleSink& sink) {
  auto id = kubevirt_identity(r.name);
  if (!id) return 0;
  Emitter out(*id, options, sink);

  for (const auto& f : kCpuFields) out.emit(f.metric, field(r.stats, f.field, f.scale));

  for (const auto& f : kMemoryFields) out.emit(f.metric, field(r.memory, f.field, f.scale));
  out.emit("kubevirt_vmi_memory_domain_bytes", field(r.stats, "balloon.current", kKibibytes));

  // vCPUs 0..maximum-1, as the libvirt Go binding lays them out for KubeVirt.
  auto vcpus = field(r.stats, "vcpu.maximum");
  if (!vcpus) vcpus = field(r.stats, "vcpu.current");
  for (std::size_t n = 0; vcpus && n < static_cast<std::size_t>(*vcpus); ++n) {
    std::string prefix = "vcpu." + std::to_string(n) + ".";
    std::string id_label = std::to_string(n);
    std::string_view state = vcpu_state_name(field(r.stats, prefix + "state"));
    for (const auto& f : kVcpuFields) {
      Emitter::Labels labels{{"id", id_label}};
      if (f.field == "time") labels.emplace_back("state", state);
      out.emit(f.metric, field(r.stats, prefix + std::string(f.field), f.scale), labels);
    }
  }

  for (std::size_t i = 0, n = device_count(r.stats, "block"); i < n; ++i) {
    std::string prefix = "block." + std::to_string(i);
    auto drive = device_name(r, prefix);
    if (!drive) continue;
    for (const auto& f : kBlockFields)
      out.emit(f.metric, field(r.stats, prefix + "." + std::string(f.field), f.scale),
               {{"drive", *drive}});
  }

  for (std::size_t i = 0, n = device_count(r.stats, "net"); i < n; ++i) {
    std::string prefix = "net." + std::to_string(i);
    auto iface = device_name(r, prefix);
    if (!iface) continue;
    for (const auto& f : kNetFields)
      out.emit(f.metric, field(r.stats, prefix + "." + std::string(f.field), f.scale),
               {{"interface", *iface}});
    out.emit(kTrafficBytes, field(r.stats, prefix + ".rx.bytes"),
             {{"interface", *iface}, {"type", "rx"}});
    out.emit(kTrafficBytes, field(r.stats, prefix + ".tx.bytes"),
             {{"interface", *iface}, {"type", "tx"}});
  }

  out.emit("kubevirt_vmi_node_cpu_affinity",
           r.cpu_affinity ? std::optional<double>(static_cast<double>(*r.cpu_affinity))
                          : std::nullopt);
  // From --dirty-rate's last measurement; a recording may also have it in
  // the bulk stats. Nothing measures it without --dirty-rate, so --emit-all
  // has no placeholder for it then, as for the guest-agent series.
  auto dirty_rate = field(r.dirty_rate.empty() ? r.stats : r.dirty_rate,
                          "dirtyrate.megabytes_per_second", 1024.0 * 1024.0);
  if (dirty_rate || options.dirty_rate)
    out.emit("kubevirt_vmi_dirty_rate_bytes_per_second", dirty_rate);

  // Guest-agent values, with --guest-agent. A filesystem the agent lists
  // twice (the same device mounted the same way twice) is written once.
  if (r.guest) {
    const GuestAgentData& guest = *r.guest;
    auto load = [&](double GuestLoad::*field) {
      return guest.load ? std::optional<double>((*guest.load).*field) : std::nullopt;
    };
    out.emit("kubevirt_vmi_guest_load_1m", load(&GuestLoad::load1m));
    out.emit("kubevirt_vmi_guest_load_5m", load(&GuestLoad::load5m));
    out.emit("kubevirt_vmi_guest_load_15m", load(&GuestLoad::load15m));
    static const std::vector<GuestFilesystem> kNone;
    std::set<std::tuple<std::string_view, std::string_view, std::string_view>> seen;
    for (const auto& fs : guest.filesystems ? *guest.filesystems : kNone) {
      if (!seen.emplace(fs.name, fs.mountpoint, fs.type).second) continue;
      Emitter::Labels labels{
          {"disk_name", fs.name}, {"mount_point", fs.mountpoint}, {"file_system_type", fs.type}};
      auto bytes = [](const std::optional<std::uint64_t>& n) {
        return n ? std::optional<double>(static_cast<double>(*n)) : std::nullopt;
      };
      out.emit("kubevirt_vmi_filesystem_capacity_bytes", bytes(fs.total_bytes), labels);
      out.emit("kubevirt_vmi_filesystem_used_bytes", bytes(fs.used_bytes), labels);
    }
  }

  // Migration progress exists only while a job runs; --emit-all does not
  // invent a migration.
  if (r.job_type) {
    out.emit("kubevirt_vmi_migration_data_bytes_total", field(r.job, "data_total"));
    out.emit("kubevirt_vmi_migration_data_remaining_bytes", field(r.job, "data_remaining"));
    out.emit("kubevirt_vmi_migration_data_processed_bytes", field(r.job, "data_processed"));
    auto rate = field(r.job, "memory_dirty_rate"), page = field(r.job, "memory_page_size");
    out.emit("kubevirt_vmi_migration_dirty_memory_rate_bytes",
             rate && page ? std::optional<double>(*rate * *page) : std::nullopt);
    out.emit("kubevirt_vmi_migration_memory_transfer_rate_bytes", field(r.job, "memory_bps"));
  }
  return out.count();
}

std::size_t map_hosts(const std::vector<HostRecord>& hosts, const std::string& node,
                      const SampleSink& sink) {
  std::set<std::string_view> types;
  for (const auto& h : hosts)
    for (const auto& t : h.deprecated_machine_types) types.insert(t);
  for (std::string_view t : types)
    sink(catalog_sample<SampleOut>(MetricId::kubevirt_node_deprecated_machine_types,
                                   SampleOut::Labels{{"machine_type", t}, {"node", node}}, 1));
  return types.size();
}

}  // namespace kv::domstats
