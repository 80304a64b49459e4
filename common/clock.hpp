// Wall-clock time, pinned by KV_NOW (milliseconds since the epoch) so tests
// and golden files get the same bytes on every run.
#pragma once

#include <cstdint>

namespace kv {

std::int64_t now_ms();

}  // namespace kv
