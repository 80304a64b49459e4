// --keep-ephemeral: migration progress exists only while a job runs; this
// keeps a domain's last job values for a while after the job ended, so a
// scrape that comes late still sees how the migration finished.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kv-domstats/collector.hpp"

namespace kv::domstats {

class EphemeralMemory {
 public:
  explicit EphemeralMemory(std::chrono::milliseconds keep) : keep_(keep) {}
  // Remembers the jobs in `domains` and gives the domains whose job ended
  // less than `keep` ago their last job values back.
  void apply(std::vector<DomainResult>& domains, std::int64_t now_ms);

 private:
  struct LastJob {
    std::int64_t type;
    Params params;
    std::int64_t seen_ms;
  };
  std::chrono::milliseconds keep_;
  std::map<std::string, LastJob> last_;  // by domain UUID (else name)
};

}  // namespace kv::domstats
