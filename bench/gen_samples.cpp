// kv-gen-samples: a deterministic stream of KubeVirt-shaped per-VM samples
// (the kubevirt_vmi_* families virt-handler exports), for the demo, the
// tests and the benchmarks. Same flags, same bytes.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "exit_codes.hpp"
#include "sample_writer.hpp"

using namespace kv;

namespace {

struct Shape {
  const char* name;
  MetricType type;
  const char* help;
  const char* unit;
  const char* extra_label;  // nullptr, or "id", "drive", "interface"
  double scale;
};

// 25 series per VM: memory, CPU, two vCPUs, one disk, one NIC.
const Shape kShapes[] = {
    {"kubevirt_vmi_memory_resident_bytes", MetricType::gauge,
     "Resident memory of the process that runs the VM.", "bytes", nullptr, 2e9},
    {"kubevirt_vmi_memory_available_bytes", MetricType::gauge,
     "Memory the guest sees as usable in total.", "bytes", nullptr, 4e9},
    {"kubevirt_vmi_memory_unused_bytes", MetricType::gauge,
     "Guest memory that nothing uses, caches included.", "bytes", nullptr, 1e9},
    {"kubevirt_vmi_memory_cached_bytes", MetricType::gauge,
     "Guest memory used for I/O caches that could be reclaimed.", "bytes", nullptr, 5e8},
    {"kubevirt_vmi_memory_actual_balloon_bytes", MetricType::gauge,
     "Current size of the memory balloon.", "bytes", nullptr, 4e9},
    {"kubevirt_vmi_memory_usable_bytes", MetricType::gauge,
     "Guest memory that could be handed out without swapping.", "bytes", nullptr, 2e9},
    {"kubevirt_vmi_memory_domain_bytes", MetricType::gauge,
     "Memory assigned to the domain.", "bytes", nullptr, 4e9},
    {"kubevirt_vmi_memory_swap_in_traffic_bytes", MetricType::gauge,
     "Memory the guest swapped in.", "bytes", nullptr, 1e6},
    {"kubevirt_vmi_cpu_usage_seconds_total", MetricType::counter,
     "CPU time the VM used, in total.", "seconds", nullptr, 1e5},
    {"kubevirt_vmi_cpu_user_usage_seconds_total", MetricType::counter,
     "CPU time the VM used in user mode.", "seconds", nullptr, 8e4},
    {"kubevirt_vmi_cpu_system_usage_seconds_total", MetricType::counter,
     "CPU time the VM used in kernel mode.", "seconds", nullptr, 2e4},
    {"kubevirt_vmi_vcpu_seconds_total", MetricType::counter,
     "Time each vCPU spent in each state.", "seconds", "id", 5e4},
    {"kubevirt_vmi_vcpu_wait_seconds_total", MetricType::counter,
     "Time each vCPU waited for a host CPU.", "seconds", "id", 1e3},
    {"kubevirt_vmi_storage_iops_read_total", MetricType::counter,
     "Read operations on each disk.", "", "drive", 1e7},
    {"kubevirt_vmi_storage_iops_write_total", MetricType::counter,
     "Write operations on each disk.", "", "drive", 1e7},
    {"kubevirt_vmi_storage_read_traffic_bytes_total", MetricType::counter,
     "Bytes read from each disk.", "bytes", "drive", 1e11},
    {"kubevirt_vmi_storage_write_traffic_bytes_total", MetricType::counter,
     "Bytes written to each disk.", "bytes", "drive", 1e11},
    {"kubevirt_vmi_storage_read_times_seconds_total", MetricType::counter,
     "Time spent reading from each disk.", "seconds", "drive", 1e4},
    {"kubevirt_vmi_storage_write_times_seconds_total", MetricType::counter,
     "Time spent writing to each disk.", "seconds", "drive", 1e4},
    {"kubevirt_vmi_network_receive_bytes_total", MetricType::counter,
     "Bytes received on each interface.", "bytes", "interface", 1e12},
    {"kubevirt_vmi_network_transmit_bytes_total", MetricType::counter,
     "Bytes sent on each interface.", "bytes", "interface", 1e12},
    {"kubevirt_vmi_network_receive_packets_total", MetricType::counter,
     "Packets received on each interface.", "", "interface", 1e9},
    {"kubevirt_vmi_network_transmit_packets_total", MetricType::counter,
     "Packets sent on each interface.", "", "interface", 1e9},
};

// splitmix64: a fixed sequence from a seed, the same on every machine.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
};

std::string padded(const char* prefix, unsigned n, int width) {
  std::string digits = std::to_string(n);
  return prefix + std::string(digits.size() < static_cast<std::size_t>(width)
                                  ? width - digits.size()
                                  : 0,
                              '0') +
         digits;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned vms = 3, snapshots = 1, nodes = 0, namespaces = 0;
  std::uint64_t seed = 1;
  std::int64_t start_ms = 1763856000000;
  double interval = 0;
  bool timestamps = false;
  CLI::App app{"Writes a deterministic stream of KubeVirt-shaped per-VM samples (NDJSON, the "
               "sample stream v1), for demos, tests and benchmarks.",
               "kv-gen-samples"};
  app.add_option("--vms", vms, "Number of VMs")->default_val(3);
  app.add_option("--snapshots", snapshots, "Snapshots to write (0: until stopped)")
      ->default_val(1);
  app.add_option("--interval", interval, "Seconds to sleep between snapshots")->default_val(0);
  app.add_option("--nodes", nodes, "Nodes the VMs spread over (default: VMs/100, at least 1)");
  app.add_option("--namespaces", namespaces, "Namespaces (default: VMs/200, at least 1)");
  app.add_option("--seed", seed, "Seed of the values")->default_val(1);
  app.add_flag("--timestamps", timestamps, "Add a ts to every sample");
  app.set_version_flag("--version", version_string("kv-gen-samples", ""));
  if (auto code = parse_command_line(app, argc, argv)) return *code;
  if (nodes == 0) nodes = std::max(1u, vms / 100);
  if (namespaces == 0) namespaces = std::max(1u, vms / 200);

  SampleWriter out(STDOUT_FILENO);
  Random rng{seed};
  std::vector<double> base(static_cast<std::size_t>(vms) * std::size(kShapes) * 2);
  for (double& b : base) b = rng.unit();
  try {
    for (unsigned snap = 0; snapshots == 0 || snap < snapshots; ++snap) {
      std::int64_t ts = start_ms + static_cast<std::int64_t>(snap) * 15000;
      std::size_t k = 0;
      for (unsigned vm = 0; vm < vms; ++vm) {
        std::string name = padded("vm-", vm, 5);
        std::string ns = padded("ns-", vm % namespaces, 3);
        std::string node = padded("node-", vm % nodes, 3);
        for (const Shape& shape : kShapes) {
          int copies = shape.extra_label && std::string_view(shape.extra_label) == "id" ? 2 : 1;
          for (int c = 0; c < copies; ++c) {
            double b = base[k++ % base.size()];
            double v = shape.type == MetricType::counter
                           ? std::floor(b * shape.scale) + snap * b * 100
                           : std::floor(b * shape.scale);
            SampleOut s;
            s.name = shape.name;
            s.type = shape.type;
            s.help = shape.help;
            s.unit = shape.unit;
            std::string id = std::to_string(c);
            if (shape.extra_label) {
              std::string_view extra = shape.extra_label;
              if (extra == "id") s.labels.emplace_back("id", id);
              if (extra == "drive") s.labels.emplace_back("drive", "rootdisk");
              if (extra == "interface") s.labels.emplace_back("interface", "default");
            }
            s.labels.emplace_back("name", name);
            s.labels.emplace_back("namespace", ns);
            s.labels.emplace_back("node", node);
            if (std::string_view(shape.name) == "kubevirt_vmi_vcpu_seconds_total")
              s.labels.emplace_back("state", "running");
            s.value = v;
            if (timestamps) s.timestamp_ms = ts;
            out.write(s);
          }
        }
      }
      out.end_snapshot("kv-gen-samples", ts);
      if (interval > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    }
  } catch (const std::system_error&) {
    return kExitOk;  // the reader went away
  }
  return kExitOk;
}
