#include "kv-watch/event_stream.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "atomic_file.hpp"
#include "sample_writer.hpp"

namespace kv::watch {

void append_event_line(std::string& out, std::string_view resource_id, EventType type,
                       std::string_view object_json) {
  out += "{\"type\":\"";
  out += event_type_name(type);
  out += "\",\"resource\":";
  append_json_string(out, resource_id);
  out += ",\"object\":";
  out += object_json;
  out += "}\n";
}

void EventWriter::write(std::string_view resource_id, EventType type, std::string_view object_json) {
  std::lock_guard lock(mu_);
  append_event_line(buf_, resource_id, type, object_json);
  if (buf_.size() >= 256 * 1024) {
    write_all(fd_, buf_);
    buf_.clear();
  }
}

void EventWriter::flush() {
  std::lock_guard lock(mu_);
  if (buf_.empty()) return;
  write_all(fd_, buf_);
  buf_.clear();
}

std::size_t read_event_recording(const std::string& path,
                                 const std::function<void(const ReplayedEvent&)>& on_event, bool log_bad) {
  std::error_code ec;
  if (path != "-" && std::filesystem::is_directory(path, ec))
    throw std::runtime_error(path + ": is a directory, not a recording");
  std::ifstream in(path == "-" ? "/dev/stdin" : path);
  if (!in) throw std::runtime_error(path + ": cannot open the recording: " + std::strerror(errno));
  simdjson::dom::parser parser;
  std::size_t bad = 0, line_no = 0;
  std::string line;
  auto reject = [&](std::string_view why) {
    ++bad;
    if (log_bad) spdlog::error("{}:{}: {}; record skipped", path, line_no, why);
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    simdjson::dom::element doc, object;
    std::string_view type_name, resource;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
      reject("not valid JSON");
      continue;
    }
    if (doc["type"].get(type_name) != simdjson::SUCCESS) {
      reject("no \"type\" string");
      continue;
    }
    auto type = parse_event_type(type_name);
    if (!type) {
      reject("\"type\" must be ADDED, MODIFIED or DELETED, not \"" + std::string(type_name) + "\"");
      continue;
    }
    if (doc["resource"].get(resource) != simdjson::SUCCESS || resource.empty()) {
      reject("no \"resource\" string");
      continue;
    }
    if (doc["object"].get(object) != simdjson::SUCCESS || object.type() != simdjson::dom::element_type::OBJECT ||
        object_key(object).empty()) {
      reject("no \"object\" with metadata.name");
      continue;
    }
    on_event({resource, *type, object});
  }
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return bad;
}

}  // namespace kv::watch
