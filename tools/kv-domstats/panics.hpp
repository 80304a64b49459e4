// kubevirt_vmi_guest_os_panic_total: guest panics as KubeVirt counts them,
// from libvirt's lifecycle events (VIR_DOMAIN_EVENT_CRASHED).
//
// libvirt's event tells only that a guest crashed (PANICKED, or
// CRASHLOADED when a crash kernel took over and the guest goes on). What
// the guest said (Hyper-V's crash MSRs: the bug-check code and its
// arguments; s390's PSW) libvirt writes to the domain's log, as
// "<time>: panic hyper-v: arg1='0x7e', arg2='0x...', ...", and KubeVirt's
// launcher reads it from there; so does kv-domstats. Nothing else has it:
// the event's detail is all the event carries, and virDomainGetMessages
// gives only deprecation and tainting messages. A pvpanic device reports
// no such information: its panics are of type "unknown".
//
// Everything here but read_panic_line is pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kv-domstats/domain_metrics.hpp"

namespace kv::domstats {

// VIR_DOMAIN_EVENT_CRASHED's detail.
enum class PanicDetail : std::uint8_t { panicked, crashloaded };
std::string_view to_string(PanicDetail detail);
std::optional<PanicDetail> panic_detail_from(std::string_view text);

// One crash event as --raw records it: what libvirt's event said, and the
// domain log's last panic line (its text after "panic "), if any.
struct PanicRecord {
  std::string source;
  std::string domain;
  std::string uuid;
  std::int64_t id = -1;  // the domain's id: a new one for every start
  PanicDetail detail = PanicDetail::panicked;
  std::optional<std::string> info;  // "hyper-v: arg1='0x7e', ..."
};

// KubeVirt's labels of a panic: `type` is the text before the first ':'
// ("hyper-v", "s390"), `bugcheck_code` arg1 as 0x%x; "unknown" when the
// log has no panic line, or arg1 is missing or 0.
struct PanicLabels {
  std::string type = "unknown";
  std::string bugcheck_code = "unknown";
  bool operator==(const PanicLabels&) const = default;
};
PanicLabels panic_labels(const std::optional<std::string>& info);

// The text after "panic " of a domain log line that libvirt wrote for a
// guest panic ("2026-11-23 07:00:00.000+0000: panic hyper-v: arg1=..."),
// else nullopt.
std::optional<std::string> panic_info_of_line(std::string_view line);

// The last panic line of a domain log, read backwards over at most its
// last `max_bytes`. nullopt when there is none; throws std::runtime_error
// when the file cannot be read.
std::optional<std::string> read_panic_line(const std::string& path,
                                           std::size_t max_bytes = 1 << 20);

// The domain log of `domain` on connection `uri` by a template: {domain}
// stands for the domain name, {socket_dir} for the directory of the
// connection's socket (its socket= parameter; empty when it has none).
std::string domain_log_path(std::string_view tmpl, std::string_view uri,
                            std::string_view domain);

// The counts. PANICKED counts once per run of a domain (libvirt may tell
// a crashed domain's panic again; KubeVirt ignores all but the first),
// CRASHLOADED every time. A VM's counts are kept while it is seen (in the
// bulk stats or in an event) and for `keep_ms` after, then dropped: a
// crashed domain leaves the running and paused domains at once, and one
// destroyed on crash is gone for good, but the count must outlive it
// long enough to be scraped.
class PanicCounter {
 public:
  explicit PanicCounter(std::int64_t keep_ms) : keep_ms_(keep_ms) {}
  // Counts a crash event (KubeVirt domains only). Returns whether it counted.
  bool observe(const PanicRecord& panic, std::int64_t now_ms);
  // A VM seen in this cycle's stats.
  void seen(const VmIdentity& vm, std::int64_t now_ms);
  // Drops what has not been seen for longer than keep_ms.
  void expire(std::int64_t now_ms);
  // kubevirt_vmi_guest_os_panic_total, one sample per VM, type and code.
  void emit(const SampleSink& sink) const;

 private:
  using VmKey = std::pair<std::string, std::string>;  // namespace, name
  struct Vm {
    std::map<std::pair<std::string, std::string>, std::uint64_t> counts;  // type, code
    std::int64_t last_seen_ms = 0;
  };
  std::int64_t keep_ms_;
  std::map<VmKey, Vm> vms_;
  // Runs whose PANICKED was counted: source, UUID, domain id.
  std::map<std::tuple<std::string, std::string, std::int64_t>, std::int64_t> panicked_runs_;
};

}  // namespace kv::domstats
