#include "otlp_encoder.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace kv::promfmt {

namespace {

// ---------------------------------------------------------------------------
// The mapping

std::string_view prometheus_type(MetricType type) {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::untyped: break;
  }
  return "unknown";
}

bool is_sum(const OtlpFamily& f) { return f.type == MetricType::counter; }

// Timestamps: milliseconds in the stream, nanoseconds in OTLP. Times before
// the epoch have no representation (the fields are unsigned): 0, unset.
std::uint64_t unix_nano(std::int64_t ms) {
  constexpr std::int64_t kMaxMs = static_cast<std::int64_t>(
      std::numeric_limits<std::uint64_t>::max() / 1'000'000);
  if (ms <= 0) return 0;
  return static_cast<std::uint64_t>(std::min(ms, kMaxMs)) * 1'000'000;
}

std::uint64_t start_nano(const OtlpFamily& f, const OtlpPoint& p) {
  return is_sum(f) ? unix_nano(p.start_ms) : 0;
}

// ---------------------------------------------------------------------------
// Protobuf wire format: every field here has a field number below 16, so
// every tag is one byte (metadata, field 12, too: 12 << 3 | 2 = 98).

namespace tag {
constexpr char request_resource_metrics = 0x0A;  // ExportMetricsServiceRequest.resource_metrics = 1
constexpr char resource = 0x0A;                  // ResourceMetrics.resource = 1
constexpr char scope_metrics = 0x12;             // ResourceMetrics.scope_metrics = 2
constexpr char resource_attributes = 0x0A;       // Resource.attributes = 1
constexpr char scope = 0x0A;                     // ScopeMetrics.scope = 1
constexpr char metrics = 0x12;                   // ScopeMetrics.metrics = 2
constexpr char scope_name = 0x0A;                // InstrumentationScope.name = 1
constexpr char metric_name = 0x0A;               // Metric.name = 1
constexpr char metric_description = 0x12;        // Metric.description = 2
constexpr char metric_unit = 0x1A;               // Metric.unit = 3
constexpr char metric_gauge = 0x2A;              // Metric.gauge = 5
constexpr char metric_sum = 0x3A;                // Metric.sum = 7
constexpr char metric_metadata = 0x62;           // Metric.metadata = 12
constexpr char data_points = 0x0A;               // Gauge/Sum.data_points = 1
constexpr char sum_temporality = 0x10;           // Sum.aggregation_temporality = 2 (varint)
constexpr char sum_monotonic = 0x18;             // Sum.is_monotonic = 3 (varint)
constexpr char point_start = 0x11;               // NumberDataPoint.start_time_unix_nano = 2 (fixed64)
constexpr char point_time = 0x19;                // NumberDataPoint.time_unix_nano = 3 (fixed64)
constexpr char point_as_double = 0x21;           // NumberDataPoint.as_double = 4 (double)
constexpr char point_attributes = 0x3A;          // NumberDataPoint.attributes = 7
constexpr char point_flags = 0x40;               // NumberDataPoint.flags = 8 (varint)
constexpr char kv_key = 0x0A;                    // KeyValue.key = 1
constexpr char kv_value = 0x12;                  // KeyValue.value = 2
constexpr char any_string = 0x0A;                // AnyValue.string_value = 1
}  // namespace tag

constexpr std::uint64_t kCumulative = 2;      // AGGREGATION_TEMPORALITY_CUMULATIVE
constexpr std::uint64_t kNoRecordedValue = 1;  // DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK

constexpr std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}
// A length-delimited field with a one-byte tag.
constexpr std::size_t field_size(std::size_t length) { return 1 + varint_size(length) + length; }

char* put_varint(char* p, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) *p++ = static_cast<char>(v | 0x80);
  *p++ = static_cast<char>(v);
  return p;
}
char* put_fixed64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) *p++ = static_cast<char>(v & 0xFF);
  return p;
}
char* put_bytes(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
void append_varint(std::string& out, std::uint64_t v) {
  char buf[10];
  out.append(buf, put_varint(buf, v));
}
void append_field(std::string& out, char t, std::string_view bytes) {
  out += t;
  append_varint(out, bytes.size());
  out += bytes;
}

// KeyValue{key, value: AnyValue{string_value}}
std::string pb_key_value(std::string_view key, std::string_view value) {
  std::string any, kv;
  append_field(any, tag::any_string, value);
  append_field(kv, tag::kv_key, key);
  append_field(kv, tag::kv_value, any);
  return kv;
}

// A data point's attribute: the KeyValue sizes of one label.
struct PbLabelSizes {
  std::size_t value, any, kv;
};
PbLabelSizes pb_label_sizes(std::string_view name, std::string_view escaped) {
  PbLabelSizes s;
  s.value = unescaped_size(escaped);
  s.any = field_size(s.value);
  s.kv = field_size(name.size()) + field_size(s.any);
  return s;
}

std::size_t pb_point_size(const OtlpFamily& f, const OtlpPoint& p) {
  std::size_t n = 0;
  if (start_nano(f, p)) n += 9;
  if (unix_nano(p.time_ms)) n += 9;
  if (!p.stale) n += 9;
  LabelSetCursor labels(p.labels);
  std::string_view name, value;
  while (labels.next(name, value)) n += field_size(pb_label_sizes(name, value).kv);
  if (p.stale) n += 2;
  return n;
}

// Writes the point as a data_points entry: tag, length, NumberDataPoint.
char* pb_write_point(char* out, const OtlpFamily& f, const OtlpPoint& p, std::size_t size) {
  *out++ = tag::data_points;
  out = put_varint(out, size);
  if (std::uint64_t start = start_nano(f, p)) {
    *out++ = tag::point_start;
    out = put_fixed64(out, start);
  }
  if (std::uint64_t time = unix_nano(p.time_ms)) {
    *out++ = tag::point_time;
    out = put_fixed64(out, time);
  }
  if (!p.stale) {
    std::uint64_t bits;
    std::memcpy(&bits, &p.value, sizeof bits);
    *out++ = tag::point_as_double;
    out = put_fixed64(out, bits);
  }
  LabelSetCursor labels(p.labels);
  std::string_view name, value;
  while (labels.next(name, value)) {
    PbLabelSizes s = pb_label_sizes(name, value);
    *out++ = tag::point_attributes;
    out = put_varint(out, s.kv);
    *out++ = tag::kv_key;
    out = put_varint(out, name.size());
    out = put_bytes(out, name);
    *out++ = tag::kv_value;
    out = put_varint(out, s.any);
    *out++ = tag::any_string;
    out = put_varint(out, s.value);
    out = write_unescaped(out, value);
  }
  if (p.stale) {
    *out++ = tag::point_flags;
    out = put_varint(out, kNoRecordedValue);
  }
  return out;
}

// ---------------------------------------------------------------------------
// JSON

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// A label value as Prometheus escapes it (\\, \", \n) is already valid JSON
// escaping for those three; only the other control characters need work.
void append_json_label_value(std::string& out, std::string_view escaped) {
  std::size_t plain = 0;
  for (char c : escaped)
    if (static_cast<unsigned char>(c) < 0x20) ++plain;
  if (plain == 0) {
    out += '"';
    out += escaped;
    out += '"';
    return;
  }
  std::string raw(unescaped_size(escaped), '\0');
  write_unescaped(raw.data(), escaped);
  append_json_string(out, raw);
}

void append_json_uint64(std::string& out, std::uint64_t v) {
  char buf[24];
  out += '"';
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  out += '"';
}

// The proto3 JSON form of a double: a number, or "NaN", "Infinity", "-Infinity".
void append_json_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
}

void append_json_key_value(std::string& out, std::string_view key, std::string_view value) {
  out += "{\"key\":";
  append_json_string(out, key);
  out += ",\"value\":{\"stringValue\":";
  append_json_string(out, value);
  out += "}}";
}

void json_write_point(std::string& out, const OtlpFamily& f, const OtlpPoint& p) {
  out += '{';
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out += ',';
    first = false;
    out += k;
  };
  if (!p.labels.empty()) {
    key("\"attributes\":[");
    LabelSetCursor labels(p.labels);
    std::string_view name, value;
    bool first_label = true;
    while (labels.next(name, value)) {
      if (!first_label) out += ',';
      first_label = false;
      out += "{\"key\":\"";
      out += name;  // label names need no escaping
      out += "\",\"value\":{\"stringValue\":";
      append_json_label_value(out, value);
      out += "}}";
    }
    out += ']';
  }
  if (std::uint64_t start = start_nano(f, p)) {
    key("\"startTimeUnixNano\":");
    append_json_uint64(out, start);
  }
  if (std::uint64_t time = unix_nano(p.time_ms)) {
    key("\"timeUnixNano\":");
    append_json_uint64(out, time);
  }
  if (p.stale) {
    key("\"flags\":1");
  } else {
    key("\"asDouble\":");
    append_json_double(out, p.value);
  }
  out += '}';
}

// ---------------------------------------------------------------------------
// Requests. Every point is encoded once into `entries`; a request is then a
// frame around runs of them, one Metric per run of a family. The framings
// know the exact size a request will have, which is how a batch is split.

struct Run {
  std::uint32_t family;
  std::size_t begin, end;  // points
};

struct Entries {
  std::string bytes;
  std::vector<std::size_t> offset;  // point i is bytes[offset[i], offset[i+1])
  std::size_t size(std::size_t b, std::size_t e) const { return offset[e] - offset[b]; }
};

class ProtobufFraming {
 public:
  ProtobufFraming(const OtlpBatch& batch, const KeyValues& resource) : batch_(batch) {
    std::string attrs, scope;
    for (const auto& [k, v] : resource) append_field(attrs, tag::resource_attributes, pb_key_value(k, v));
    append_field(resource_field_, tag::resource, attrs);
    append_field(scope, tag::scope_name, kOtlpScopeName);
    append_field(scope_field_, tag::scope, scope);
    for (const OtlpFamily& f : batch.families()) {
      Family pf;
      append_field(pf.head, tag::metric_name, f.name);
      if (!f.help.empty()) append_field(pf.head, tag::metric_description, f.help);
      if (std::string unit = otlp_unit(f.unit); !unit.empty())
        append_field(pf.head, tag::metric_unit, unit);
      if (is_sum(f)) {
        pf.trailer += tag::sum_temporality;
        append_varint(pf.trailer, kCumulative);
        pf.trailer += tag::sum_monotonic;
        append_varint(pf.trailer, 1);
      }
      append_field(pf.metadata, tag::metric_metadata,
                   pb_key_value("prometheus.type", prometheus_type(f.type)));
      families_.push_back(std::move(pf));
    }
  }

  Entries encode_points() const {
    const auto& points = batch_.points();
    Entries e;
    e.offset.resize(points.size() + 1);
    e.bytes.reserve(points.size() * 96);
    for (std::size_t i = 0; i < points.size(); ++i) {
      // Sized and written at once, while its label set is in the cache.
      const OtlpFamily& f = batch_.families()[points[i].family];
      std::size_t size = pb_point_size(f, points[i]);
      std::size_t at = e.offset[i] = e.bytes.size();
      e.bytes.resize(at + field_size(size));
      pb_write_point(e.bytes.data() + at, f, points[i], size);
    }
    e.offset[points.size()] = e.bytes.size();
    return e;
  }

  // Sizes: of a Metric message of one run, as a field of ScopeMetrics, and
  // of a whole request around metrics of `metric_bytes` in all.
  std::size_t metric_size(std::uint32_t family, std::size_t point_bytes, std::size_t) const {
    return field_size(metric_inner(family, point_bytes));
  }
  std::size_t request_size(std::size_t metric_bytes, std::size_t) const {
    return field_size(resource_metrics_inner(metric_bytes));
  }

  std::string write(const std::vector<Run>& runs, const Entries& e) const {
    std::size_t metric_bytes = 0;
    for (const Run& r : runs) metric_bytes += metric_size(r.family, e.size(r.begin, r.end), 0);
    std::string out;
    out.reserve(request_size(metric_bytes, 0));
    out += tag::request_resource_metrics;
    append_varint(out, resource_metrics_inner(metric_bytes));
    out += resource_field_;
    out += tag::scope_metrics;
    append_varint(out, scope_field_.size() + metric_bytes);
    out += scope_field_;
    for (const Run& r : runs) {
      const Family& pf = families_[r.family];
      std::size_t point_bytes = e.size(r.begin, r.end);
      out += tag::metrics;
      append_varint(out, metric_inner(r.family, point_bytes));
      out += pf.head;
      out += is_sum(batch_.families()[r.family]) ? tag::metric_sum : tag::metric_gauge;
      append_varint(out, point_bytes + pf.trailer.size());
      out.append(e.bytes, e.offset[r.begin], point_bytes);
      out += pf.trailer;
      out += pf.metadata;
    }
    return out;
  }

 private:
  struct Family {
    std::string head;      // name, description, unit
    std::string trailer;   // after the points: a Sum's temporality and monotonicity
    std::string metadata;  // the metadata field
  };
  std::size_t metric_inner(std::uint32_t family, std::size_t point_bytes) const {
    const Family& pf = families_[family];
    return pf.head.size() + field_size(point_bytes + pf.trailer.size()) + pf.metadata.size();
  }
  std::size_t resource_metrics_inner(std::size_t metric_bytes) const {
    return resource_field_.size() + field_size(scope_field_.size() + metric_bytes);
  }

  const OtlpBatch& batch_;
  std::string resource_field_, scope_field_;
  std::vector<Family> families_;
};

class JsonFraming {
 public:
  JsonFraming(const OtlpBatch& batch, const KeyValues& resource) : batch_(batch) {
    prefix_ = "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[";
    for (std::size_t i = 0; i < resource.size(); ++i) {
      if (i) prefix_ += ',';
      append_json_key_value(prefix_, resource[i].first, resource[i].second);
    }
    prefix_ += "]},\"scopeMetrics\":[{\"scope\":{\"name\":";
    append_json_string(prefix_, kOtlpScopeName);
    prefix_ += "},\"metrics\":[";
    suffix_ = "]}]}]}";
    for (const OtlpFamily& f : batch.families()) {
      Family jf;
      jf.head = "{\"name\":";
      append_json_string(jf.head, f.name);
      if (!f.help.empty()) {
        jf.head += ",\"description\":";
        append_json_string(jf.head, f.help);
      }
      if (std::string unit = otlp_unit(f.unit); !unit.empty()) {
        jf.head += ",\"unit\":";
        append_json_string(jf.head, unit);
      }
      jf.head += is_sum(f) ? ",\"sum\":{\"dataPoints\":[" : ",\"gauge\":{\"dataPoints\":[";
      jf.tail = is_sum(f) ? "],\"aggregationTemporality\":2,\"isMonotonic\":true}" : "]}";
      jf.tail += ",\"metadata\":[";
      append_json_key_value(jf.tail, "prometheus.type", prometheus_type(f.type));
      jf.tail += "]}";
      families_.push_back(std::move(jf));
    }
  }

  Entries encode_points() const {
    const auto& points = batch_.points();
    Entries e;
    e.offset.resize(points.size() + 1);
    e.bytes.reserve(points.size() * 160);
    for (std::size_t i = 0; i < points.size(); ++i) {
      e.offset[i] = e.bytes.size();
      json_write_point(e.bytes, batch_.families()[points[i].family], points[i]);
    }
    e.offset[points.size()] = e.bytes.size();
    return e;
  }

  std::size_t metric_size(std::uint32_t family, std::size_t point_bytes, std::size_t points) const {
    const Family& jf = families_[family];
    return jf.head.size() + point_bytes + (points - 1) + jf.tail.size();  // commas between points
  }
  std::size_t request_size(std::size_t metric_bytes, std::size_t metrics) const {
    return prefix_.size() + metric_bytes + (metrics - 1) + suffix_.size();
  }

  std::string write(const std::vector<Run>& runs, const Entries& e) const {
    std::string out = prefix_;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (r) out += ',';
      const Family& jf = families_[runs[r].family];
      out += jf.head;
      for (std::size_t i = runs[r].begin; i < runs[r].end; ++i) {
        if (i != runs[r].begin) out += ',';
        out.append(e.bytes, e.offset[i], e.offset[i + 1] - e.offset[i]);
      }
      out += jf.tail;
    }
    out += suffix_;
    return out;
  }

 private:
  struct Family {
    std::string head, tail;
  };
  const OtlpBatch& batch_;
  std::string prefix_, suffix_;
  std::vector<Family> families_;
};

// Cuts the points into requests of at most max_size bytes (0: one request)
// and writes them.
template <typename Framing>
std::vector<std::string> encode_requests(const OtlpBatch& batch, const Framing& framing,
                                         std::size_t max_size) {
  const auto& points = batch.points();
  std::vector<std::string> bodies;
  if (points.empty()) return bodies;
  Entries e = framing.encode_points();

  std::vector<Run> runs;
  std::size_t closed_bytes = 0;  // the metrics of every run but the last
  auto run_bytes = [&](const Run& r) {
    return framing.metric_size(r.family, e.size(r.begin, r.end), r.end - r.begin);
  };
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool extends = !runs.empty() && runs.back().family == points[i].family;
    Run next = extends ? Run{runs.back().family, runs.back().begin, i + 1}
                       : Run{points[i].family, i, i + 1};
    std::size_t metrics = extends ? closed_bytes : closed_bytes + (runs.empty() ? 0 : run_bytes(runs.back()));
    std::size_t count = runs.size() + (extends ? 0 : 1);
    if (max_size > 0 && !runs.empty() &&
        framing.request_size(metrics + run_bytes(next), count) > max_size) {
      bodies.push_back(framing.write(runs, e));
      runs.clear();
      closed_bytes = 0;
      runs.push_back({points[i].family, i, i + 1});
      continue;
    }
    if (extends) {
      runs.back() = next;
    } else {
      if (!runs.empty()) closed_bytes += run_bytes(runs.back());
      runs.push_back(next);
    }
  }
  bodies.push_back(framing.write(runs, e));
  return bodies;
}

struct UnitName {
  std::string_view prometheus, ucum;
};
// The specification's table (compatibility/prometheus_and_openmetrics.md).
constexpr UnitName kUnits[] = {
    {"days", "d"},        {"hours", "h"},        {"minutes", "min"},    {"seconds", "s"},
    {"milliseconds", "ms"}, {"microseconds", "us"}, {"nanoseconds", "ns"}, {"bytes", "By"},
    {"kibibytes", "KiBy"}, {"mebibytes", "MiBy"}, {"gibibytes", "GiBy"}, {"tebibytes", "TiBy"},
    {"kilobytes", "kBy"}, {"megabytes", "MBy"},  {"gigabytes", "GBy"},  {"terabytes", "TBy"},
    {"meters", "m"},      {"volts", "V"},        {"amperes", "A"},      {"joules", "J"},
    {"watts", "W"},       {"grams", "g"},        {"celsius", "Cel"},    {"hertz", "Hz"},
    {"percent", "%"},
};

const std::string_view* ucum(std::string_view unit) {
  for (const UnitName& u : kUnits)
    if (u.prometheus == unit) return &u.ucum;
  return nullptr;
}

}  // namespace

std::string otlp_unit(std::string_view unit) {
  if (const std::string_view* u = ucum(unit)) return std::string(*u);
  // "bytes_per_second" and the like: both words from the table.
  constexpr std::string_view kPer = "_per_";
  if (std::size_t at = unit.find(kPer); at != std::string_view::npos) {
    const std::string_view* num = ucum(unit.substr(0, at));
    std::string_view denominator = unit.substr(at + kPer.size());
    // A rate's denominator is singular: "second", as "seconds" in the table.
    const std::string_view* den = ucum(std::string(denominator) + "s");
    if (!den) den = ucum(denominator);
    if (num && den) return std::string(*num) + "/" + std::string(*den);
  }
  return std::string(unit);
}

std::vector<std::string> encode_otlp(const OtlpBatch& batch, const KeyValues& resource,
                                     OtlpEncoding encoding, std::size_t max_size) {
  if (encoding == OtlpEncoding::protobuf)
    return encode_requests(batch, ProtobufFraming(batch, resource), max_size);
  return encode_requests(batch, JsonFraming(batch, resource), max_size);
}

}  // namespace kv::promfmt
