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
};

}  // namespace kv::domstats
