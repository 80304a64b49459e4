// What kv-domstats reads from libvirt about one domain in one cycle, as
// plain values: the record that --raw writes, --replay reads, and the
// mapping turns into samples. Nothing here talks to libvirt.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace kv::domstats {

// A libvirt typed parameter's value (int, uint, llong, ullong, double,
// boolean and string all fit).
using ParamValue = std::variant<std::int64_t, std::uint64_t, double, bool, std::string>;
using Params = std::map<std::string, ParamValue, std::less<>>;

std::optional<double> as_number(const ParamValue& v);

// One filesystem as the guest agent's guest-get-fsinfo reports it. The
// agent leaves the byte counts out when it cannot stat the filesystem.
struct GuestFilesystem {
  std::string name;        // the guest's device name ("vda1")
  std::string mountpoint;  // "/data"
  std::string type;        // "ext4"
  std::optional<std::uint64_t> total_bytes;
  std::optional<std::uint64_t> used_bytes;
  bool operator==(const GuestFilesystem&) const = default;
};

// guest-get-load (qemu-guest-agent 10.0 and newer).
struct GuestLoad {
  double load1m = 0;
  double load5m = 0;
  double load15m = 0;
  bool operator==(const GuestLoad&) const = default;
};

// What the guest agent last told about a domain; each part is absent until
// the agent has answered for it.
struct GuestAgentData {
  std::optional<std::vector<GuestFilesystem>> filesystems;
  std::optional<GuestLoad> load;
  bool operator==(const GuestAgentData&) const = default;
};

struct DomainRecord {
  std::string source;  // the connection URI it came from
  std::string name;    // libvirt domain name, "<namespace>_<name>" in KubeVirt
  std::string uuid;
  std::string kubevirt_uid;  // from <metadata><kubevirt><uid>, when present
  Params stats;              // virConnectGetAllDomainStats fields ("cpu.time", ...)
  Params memory;             // virDomainMemoryStats by name ("rss", "actual", ...)
  std::optional<std::uint64_t> cpu_affinity;  // set bits over all vCPU pin maps
  std::map<std::string, std::string> aliases;  // target dev ("vda") -> alias ("ua-rootdisk")
  Params job;                                  // virDomainGetJobStats while a job runs
  std::optional<std::int64_t> job_type;        // virDomainJobType, when a job runs
  // Set when the guest agent is asked about this domain (--guest-agent).
  std::optional<GuestAgentData> guest;
  // The dirtyrate.* fields of the domain's last measured dirty-rate
  // calculation (--dirty-rate; virDomainListGetStats' dirtyrate group).
  Params dirty_rate;
};

// What kv-domstats reads from a connection's host capabilities
// (virConnectGetCapabilities), once per connection.
struct HostRecord {
  std::string source;
  // <guest><arch><machine deprecated='yes'>, sorted, each name once.
  std::vector<std::string> deprecated_machine_types;
};

}  // namespace kv::domstats
