#include "kv-domstats/ephemeral.hpp"

namespace kv::domstats {

void EphemeralMemory::apply(std::vector<DomainResult>& domains, std::int64_t now_ms) {
  for (auto& d : domains) {
    DomainRecord& r = d.record;
    const std::string& key = r.uuid.empty() ? r.name : r.uuid;
    if (r.job_type) {
      last_[key] = {*r.job_type, r.job, now_ms};
    } else if (auto it = last_.find(key);
               it != last_.end() && now_ms - it->second.seen_ms <= keep_.count()) {
      r.job_type = it->second.type;
      r.job = it->second.params;
    }
  }
  for (auto it = last_.begin(); it != last_.end();)
    it = now_ms - it->second.seen_ms > keep_.count() ? last_.erase(it) : std::next(it);
}

}  // namespace kv::domstats
