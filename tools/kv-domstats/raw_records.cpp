#include "kv-domstats/raw_records.hpp"

#include <simdjson.h>

#include <charconv>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "kv-domstats/guest_agent_json.hpp"
#include "sample_writer.hpp"

namespace kv::domstats {

namespace {

void append_value(std::string& out, const ParamValue& v) {
  char buf[32];
  if (auto* i = std::get_if<std::int64_t>(&v)) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *i).ptr);
  } else if (auto* u = std::get_if<std::uint64_t>(&v)) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *u).ptr);
  } else if (auto* d = std::get_if<double>(&v)) {
    std::string_view text(buf, std::to_chars(buf, buf + sizeof buf, *d).ptr - buf);
    out += text;
    // Keep doubles recognisable as such when read back.
    if (text.find_first_of(".eEn") == std::string_view::npos) out += ".0";
  } else if (auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  } else {
    append_json_string(out, std::get<std::string>(v));
  }
}

void append_params(std::string& out, std::string_view key, const Params& params) {
  out += ",\"";
  out += key;
  out += "\":{";
  bool first = true;
  for (const auto& [name, value] : params) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    append_value(out, value);
  }
  out += '}';
}

namespace dom = simdjson::dom;

ParamValue to_param(dom::element e) {
  switch (e.type()) {
    case dom::element_type::INT64: return std::int64_t(e.get_int64().value_unsafe());
    case dom::element_type::UINT64: return std::uint64_t(e.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE: return e.get_double().value_unsafe();
    case dom::element_type::BOOL: return e.get_bool().value_unsafe();
    case dom::element_type::STRING: return std::string(e.get_string().value_unsafe());
    default: throw std::runtime_error("a parameter must be a number, a boolean or a string");
  }
}

Params to_params(dom::element e, std::string_view what) {
  dom::object obj;
  if (e.get_object().get(obj)) throw std::runtime_error("\"" + std::string(what) + "\" must be an object");
  Params out;
  for (auto field : obj) out.emplace(std::string(field.key), to_param(field.value));
  return out;
}

GuestAgentData to_guest(dom::element e) {
  dom::object obj;
  if (e.get_object().get(obj)) throw std::runtime_error("\"guest\" must be an object");
  GuestAgentData guest;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "filesystems") guest.filesystems = filesystems_from_json(field.value);
    else if (key == "load") guest.load = load_from_json(field.value);
  }
  return guest;
}

std::string string_of(dom::element v, std::string_view key) {
  std::string_view s;
  if (v.get_string().get(s)) throw std::runtime_error("\"" + std::string(key) + "\" must be a string");
  return std::string(s);
}

PanicRecord to_panic(dom::object obj) {
  PanicRecord p;
  bool detail = false;
  for (auto field : obj) {
    std::string_view key = field.key;
    dom::element v = field.value;
    if (key == "event") {
      if (string_of(v, key) != "crashed") throw std::runtime_error("\"event\" must be \"crashed\"");
    } else if (key == "detail") {
      auto d = panic_detail_from(string_of(v, key));
      if (!d) throw std::runtime_error("\"detail\" must be \"panicked\" or \"crashloaded\"");
      p.detail = *d;
      detail = true;
    } else if (key == "source") {
      p.source = string_of(v, key);
    } else if (key == "domain") {
      p.domain = string_of(v, key);
    } else if (key == "uuid") {
      p.uuid = string_of(v, key);
    } else if (key == "id") {
      if (v.get_int64().get(p.id)) throw std::runtime_error("\"id\" must be an integer");
    } else if (key == "panic") {
      p.info = string_of(v, key);
    }
  }
  if (p.domain.empty()) throw std::runtime_error("a crash event needs \"domain\"");
  if (!detail) throw std::runtime_error("a crash event needs \"detail\"");
  return p;
}

HostRecord to_host(dom::object obj) {
  HostRecord h;
  for (auto field : obj) {
    std::string_view key = field.key;
    dom::element v = field.value;
    if (key == "host") {
      h.source = string_of(v, key);
    } else if (key == "deprecated_machine_types") {
      dom::array names;
      if (v.get_array().get(names))
        throw std::runtime_error("\"deprecated_machine_types\" must be an array of names");
      for (dom::element n : names) h.deprecated_machine_types.push_back(string_of(n, "deprecated_machine_types"));
    }
  }
  return h;
}

DomainRecord to_record(dom::object obj) {
  DomainRecord r;
  for (auto field : obj) {
    std::string_view key = field.key;
    dom::element v = field.value;
    auto text = [&]() {
      std::string_view s;
      if (v.get_string().get(s)) throw std::runtime_error("\"" + std::string(key) + "\" must be a string");
      return std::string(s);
    };
    if (key == "source") r.source = text();
    else if (key == "domain") r.name = text();
    else if (key == "uuid") r.uuid = text();
    else if (key == "kubevirt_uid") r.kubevirt_uid = text();
    else if (key == "stats") r.stats = to_params(v, key);
    else if (key == "memory") r.memory = to_params(v, key);
    else if (key == "job") r.job = to_params(v, key);
    else if (key == "cpu_affinity") {
      std::uint64_t n;
      if (v.get_uint64().get(n)) throw std::runtime_error("\"cpu_affinity\" must be a count");
      r.cpu_affinity = n;
    } else if (key == "job_type") {
      std::int64_t n;
      if (v.get_int64().get(n)) throw std::runtime_error("\"job_type\" must be an integer");
      r.job_type = n;
    } else if (key == "guest") {
      r.guest = to_guest(v);
    } else if (key == "dirtyrate") {
      r.dirty_rate = to_params(v, key);
    } else if (key == "aliases") {
      Params a = to_params(v, key);
      for (auto& [dev, alias] : a) {
        auto* s = std::get_if<std::string>(&alias);
        if (!s) throw std::runtime_error("\"aliases\" must map device names to strings");
        r.aliases.emplace(dev, *s);
      }
    }
  }
  if (r.name.empty()) throw std::runtime_error("a domain record needs \"domain\"");
  return r;
}

}  // namespace

void append_raw_record(std::string& out, const DomainRecord& r) {
  out += "{\"source\":";
  append_json_string(out, r.source);
  out += ",\"domain\":";
  append_json_string(out, r.name);
  out += ",\"uuid\":";
  append_json_string(out, r.uuid);
  if (!r.kubevirt_uid.empty()) {
    out += ",\"kubevirt_uid\":";
    append_json_string(out, r.kubevirt_uid);
  }
  append_params(out, "stats", r.stats);
  append_params(out, "memory", r.memory);
  if (r.cpu_affinity) out += ",\"cpu_affinity\":" + std::to_string(*r.cpu_affinity);
  out += ",\"aliases\":";
  append_json_string_map(out, r.aliases);
  if (r.job_type) {
    out += ",\"job_type\":" + std::to_string(*r.job_type);
    append_params(out, "job", r.job);
  }
  if (r.guest) {
    out += ",\"guest\":{";
    const char* sep = "";
    if (r.guest->filesystems) {
      out += "\"filesystems\":";
      append_filesystems_json(out, *r.guest->filesystems);
      sep = ",";
    }
    if (r.guest->load) {
      out += sep;
      out += "\"load\":";
      append_load_json(out, *r.guest->load);
    }
    out += '}';
  }
  if (!r.dirty_rate.empty()) append_params(out, "dirtyrate", r.dirty_rate);
  out += "}\n";
}

void append_raw_panic(std::string& out, const PanicRecord& p) {
  out += "{\"event\":\"crashed\",\"detail\":";
  append_json_string(out, to_string(p.detail));
  out += ",\"source\":";
  append_json_string(out, p.source);
  out += ",\"domain\":";
  append_json_string(out, p.domain);
  out += ",\"uuid\":";
  append_json_string(out, p.uuid);
  out += ",\"id\":" + std::to_string(p.id);
  if (p.info) {
    out += ",\"panic\":";
    append_json_string(out, *p.info);
  }
  out += "}\n";
}

void append_raw_host(std::string& out, const HostRecord& h) {
  out += "{\"host\":";
  append_json_string(out, h.source);
  out += ",\"deprecated_machine_types\":[";
  for (std::size_t i = 0; i < h.deprecated_machine_types.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, h.deprecated_machine_types[i]);
  }
  out += "]}\n";
}

void append_raw_cycle_end(std::string& out) { out += "{\"end\":\"kv-domstats-raw\"}\n"; }

void read_raw_recording(const std::string& path,
                        const std::function<void(RawCycle&)>& on_cycle) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  // A directory opens, and then reads as nothing.
  if (std::filesystem::is_directory(path)) throw std::runtime_error(path + " is a directory, not a recording");
  dom::parser parser;
  RawCycle cycle;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    bool end = false;
    try {
      dom::element doc;
      if (auto err = parser.parse(line).get(doc))
        throw std::runtime_error(std::string("invalid JSON: ") + simdjson::error_message(err));
      dom::object obj;
      if (doc.get_object().get(obj)) throw std::runtime_error("a record must be a JSON object");
      end = obj.at_key("end").error() == simdjson::SUCCESS;
      auto has = [&](const char* key) { return obj.at_key(key).error() == simdjson::SUCCESS; };
      if (end) {
        // closes the cycle, below
      } else if (has("event")) {
        cycle.panics.push_back(to_panic(obj));
      } else if (has("host")) {
        cycle.hosts.push_back(to_host(obj));
      } else {
        cycle.domains.push_back(to_record(obj));
      }
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + e.what());
    }
    // Outside the try: errors of the consumer (a closed stdout) are its own.
    if (end) {
      on_cycle(cycle);
      cycle = RawCycle{};
    }
  }
  if (!cycle.empty()) on_cycle(cycle);
}

}  // namespace kv::domstats
