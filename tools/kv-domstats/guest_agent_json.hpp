// The guest agent's values as JSON, under the agent's own field names: the
// replies kv-domstats parses and the "guest" part of its raw records are
// read and written here, in one place.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

#include "kv-domstats/domain_record.hpp"

namespace kv::domstats {

// Throw std::runtime_error when `e` is not what guest-get-fsinfo or
// guest-get-load returns.
std::vector<GuestFilesystem> filesystems_from_json(simdjson::dom::element e);
GuestLoad load_from_json(simdjson::dom::element e);

void append_filesystems_json(std::string& out, const std::vector<GuestFilesystem>& filesystems);
void append_load_json(std::string& out, const GuestLoad& load);

}  // namespace kv::domstats
