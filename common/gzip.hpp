// gzip (RFC 1952) compression of a whole buffer, for HTTP Content-Encoding.
#pragma once

#include <string>
#include <string_view>

namespace kv {

// Throws std::runtime_error if zlib fails (out of memory).
std::string gzip_compress(std::string_view data, int level = 6);

}  // namespace kv
