#include "kv-domstats/guest_agent_json.hpp"

#include <charconv>
#include <stdexcept>

#include "sample_writer.hpp"

namespace kv::domstats {

namespace dom = simdjson::dom;

namespace {

std::string string_member(dom::object obj, std::string_view key) {
  std::string_view s;
  if (obj[key].get_string().get(s)) return {};
  return std::string(s);
}

// A byte count the agent may leave out; anything but a count is left out too.
std::optional<std::uint64_t> count_member(dom::object obj, std::string_view key) {
  std::uint64_t n;
  if (obj[key].get_uint64().get(n)) return std::nullopt;
  return n;
}

double number_member(dom::object obj, std::string_view key) {
  double d;
  if (obj[key].get_double().get(d))
    throw std::runtime_error("\"" + std::string(key) + "\" must be a number");
  return d;
}

void append_member(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ':';
}

void append_double(std::string& out, double v) {
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

std::vector<GuestFilesystem> filesystems_from_json(dom::element e) {
  dom::array list;
  if (e.get_array().get(list)) throw std::runtime_error("the filesystems must be an array");
  std::vector<GuestFilesystem> out;
  for (dom::element item : list) {
    dom::object obj;
    if (item.get_object().get(obj)) throw std::runtime_error("a filesystem must be an object");
    GuestFilesystem fs;
    fs.name = string_member(obj, "name");
    fs.mountpoint = string_member(obj, "mountpoint");
    fs.type = string_member(obj, "type");
    fs.total_bytes = count_member(obj, "total-bytes");
    fs.used_bytes = count_member(obj, "used-bytes");
    out.push_back(std::move(fs));
  }
  return out;
}

GuestLoad load_from_json(dom::element e) {
  dom::object obj;
  if (e.get_object().get(obj)) throw std::runtime_error("the load must be an object");
  return {number_member(obj, "load1m"), number_member(obj, "load5m"),
          number_member(obj, "load15m")};
}

void append_filesystems_json(std::string& out, const std::vector<GuestFilesystem>& filesystems) {
  out += '[';
  bool first = true;
  for (const auto& fs : filesystems) {
    if (!first) out += ',';
    first = false;
    out += '{';
    append_member(out, "name");
    append_json_string(out, fs.name);
    out += ',';
    append_member(out, "mountpoint");
    append_json_string(out, fs.mountpoint);
    out += ',';
    append_member(out, "type");
    append_json_string(out, fs.type);
    if (fs.total_bytes) {
      out += ',';
      append_member(out, "total-bytes");
      out += std::to_string(*fs.total_bytes);
    }
    if (fs.used_bytes) {
      out += ',';
      append_member(out, "used-bytes");
      out += std::to_string(*fs.used_bytes);
    }
    out += '}';
  }
  out += ']';
}

void append_load_json(std::string& out, const GuestLoad& load) {
  out += '{';
  append_member(out, "load1m");
  append_double(out, load.load1m);
  out += ',';
  append_member(out, "load5m");
  append_double(out, load.load5m);
  out += ',';
  append_member(out, "load15m");
  append_double(out, load.load15m);
  out += '}';
}

}  // namespace kv::domstats
