// Splitting objects across replicas the way kube-state-metrics' --shard and
// --total-shards do, so both can run side by side: the FNV-1a 64 hash of the
// object's uid, through Lamping and Veach's jump consistent hash.
#pragma once
#include <cstdint>
#include <string_view>

namespace kv::watch {

std::uint64_t fnv1a64(std::string_view data);
// The bucket in [0, buckets) of `key`; buckets >= 1.
std::int32_t jump_consistent_hash(std::uint64_t key, std::int32_t buckets);

struct Sharding {
  std::int32_t shard = 0;
  std::int32_t total = 1;
  bool keeps(std::string_view uid) const {
    return total <= 1 || jump_consistent_hash(fnv1a64(uid), total) == shard;
  }
};

}  // namespace kv::watch
