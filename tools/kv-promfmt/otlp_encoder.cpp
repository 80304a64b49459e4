#include "otlp_encoder.hpp"

#include "sample_writer.hpp"

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
    case MetricType::histogram: return "histogram";
    case MetricType::untyped: break;
  }
  return "unknown";
}

bool is_sum(const OtlpFamily& f) { return f.type == MetricType::counter; }
bool is_histogram(const OtlpFamily& f) { return f.type == MetricType::histogram; }

// Timestamps: milliseconds in the stream, nanoseconds in OTLP. Times before
// the epoch have no representation (the fields are unsigned): 0, unset.
std::uint64_t unix_nano(std::int64_t ms) {
  constexpr std::int64_t kMaxMs = static_cast<std::int64_t>(
      std::numeric_limits<std::uint64_t>::max() / 1'000'000);
  if (ms <= 0) return 0;
  return static_cast<std::uint64_t>(std::min(ms, kMaxMs)) * 1'000'000;
}

std::uint64_t start_nano(const OtlpFamily& f, const OtlpPoint& p) {
  return is_sum(f) || is_histogram(f) ? unix_nano(p.start_ms) : 0;
}

// A histogram point's sum, unless it may have seen negative observations:
// OTLP's sum is for non-negative ones only (the same rule as OpenMetrics').
bool has_sum(const Histogram& h) { return histogram_sum_is_counter(h.sum, h.buckets); }

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
constexpr char metric_histogram = 0x4A;          // Metric.histogram = 9
constexpr char metric_metadata = 0x62;           // Metric.metadata = 12
constexpr char data_points = 0x0A;               // Gauge/Sum.data_points = 1
constexpr char sum_temporality = 0x10;           // Sum.aggregation_temporality = 2 (varint)
constexpr char sum_monotonic = 0x18;             // Sum.is_monotonic = 3 (varint)
constexpr char point_start = 0x11;               // NumberDataPoint.start_time_unix_nano = 2 (fixed64)
constexpr char point_time = 0x19;                // NumberDataPoint.time_unix_nano = 3 (fixed64)
constexpr char point_as_double = 0x21;           // NumberDataPoint.as_double = 4 (double)
constexpr char point_attributes = 0x3A;          // NumberDataPoint.attributes = 7
constexpr char point_flags = 0x40;               // NumberDataPoint.flags = 8 (varint)
constexpr char histogram_temporality = 0x10;     // Histogram.aggregation_temporality = 2 (varint)
constexpr char hpoint_start = 0x11;              // HistogramDataPoint.start_time_unix_nano = 2 (fixed64)
constexpr char hpoint_time = 0x19;               // HistogramDataPoint.time_unix_nano = 3 (fixed64)
constexpr char hpoint_count = 0x21;              // HistogramDataPoint.count = 4 (fixed64)
constexpr char hpoint_sum = 0x29;                // HistogramDataPoint.sum = 5 (optional double)
constexpr char hpoint_bucket_counts = 0x32;      // HistogramDataPoint.bucket_counts = 6 (packed fixed64)
constexpr char hpoint_explicit_bounds = 0x3A;    // HistogramDataPoint.explicit_bounds = 7 (packed double)
constexpr char hpoint_attributes = 0x4A;         // HistogramDataPoint.attributes = 9
constexpr char hpoint_flags = 0x50;              // HistogramDataPoint.flags = 10 (varint)
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

// (Inlined on purpose: called once per point, they are the bulk of a
// point's work, and GCC would otherwise call them.)
[[gnu::always_inline]] inline std::size_t pb_labels_size(std::string_view rendered) {
  std::size_t n = 0;
  LabelSetCursor labels(rendered);
  std::string_view name, value;
  while (labels.next(name, value)) n += field_size(pb_label_sizes(name, value).kv);
  return n;
}

[[gnu::always_inline]] inline char* pb_write_labels(char* out, char tag, std::string_view rendered) {
  LabelSetCursor labels(rendered);
  std::string_view name, value;
  while (labels.next(name, value)) {
    PbLabelSizes s = pb_label_sizes(name, value);
    *out++ = tag;
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
  return out;
}

// HistogramDataPoint: explicit bounds are the finite ones; bucket counts
// are per bucket (not cumulative), one more than the bounds.
std::size_t pb_histogram_point_size(const OtlpFamily& f, const OtlpPoint& p) {
  std::size_t n = 0;
  if (start_nano(f, p)) n += 9;
  if (unix_nano(p.time_ms)) n += 9;
  if (!p.stale) {
    const Histogram& h = *p.histogram;
    if (h.count) n += 9;
    if (has_sum(h)) n += 9;
    n += field_size(8 * (h.buckets.size() + 1));
    if (!h.buckets.empty()) n += field_size(8 * h.buckets.size());
  }
  n += pb_labels_size(p.labels);
  if (p.stale) n += 2;
  return n;
}

char* pb_write_histogram_point(char* out, const OtlpFamily& f, const OtlpPoint& p, std::size_t size) {
  *out++ = tag::data_points;
  out = put_varint(out, size);
  if (std::uint64_t start = start_nano(f, p)) {
    *out++ = tag::hpoint_start;
    out = put_fixed64(out, start);
  }
  if (std::uint64_t time = unix_nano(p.time_ms)) {
    *out++ = tag::hpoint_time;
    out = put_fixed64(out, time);
  }
  if (!p.stale) {
    const Histogram& h = *p.histogram;
    if (h.count) {
      *out++ = tag::hpoint_count;
      out = put_fixed64(out, h.count);
    }
    if (has_sum(h)) {
      std::uint64_t bits;
      std::memcpy(&bits, &h.sum, sizeof bits);
      *out++ = tag::hpoint_sum;
      out = put_fixed64(out, bits);
    }
    *out++ = tag::hpoint_bucket_counts;
    out = put_varint(out, 8 * (h.buckets.size() + 1));
    std::uint64_t below = 0;
    for (const HistogramBucket& b : h.buckets) {
      out = put_fixed64(out, b.count - below);
      below = b.count;
    }
    out = put_fixed64(out, h.count - below);
    if (!h.buckets.empty()) {
      *out++ = tag::hpoint_explicit_bounds;
      out = put_varint(out, 8 * h.buckets.size());
      for (const HistogramBucket& b : h.buckets) {
        std::uint64_t bits;
        std::memcpy(&bits, &b.upper_bound, sizeof bits);
        out = put_fixed64(out, bits);
      }
    }
  }
  out = pb_write_labels(out, tag::hpoint_attributes, p.labels);
  if (p.stale) {
    *out++ = tag::hpoint_flags;
    out = put_varint(out, kNoRecordedValue);
  }
  return out;
}

std::size_t pb_point_size(const OtlpFamily& f, const OtlpPoint& p) {
  if (is_histogram(f)) return pb_histogram_point_size(f, p);
  std::size_t n = 0;
  if (start_nano(f, p)) n += 9;
  if (unix_nano(p.time_ms)) n += 9;
  if (!p.stale) n += 9;
  n += pb_labels_size(p.labels);
  if (p.stale) n += 2;
  return n;
}

// Writes the point as a data_points entry: tag, length, NumberDataPoint
// (or HistogramDataPoint).
char* pb_write_point(char* out, const OtlpFamily& f, const OtlpPoint& p, std::size_t size) {
  if (is_histogram(f)) return pb_write_histogram_point(out, f, p, size);
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
  out = pb_write_labels(out, tag::point_attributes, p.labels);
  if (p.stale) {
    *out++ = tag::point_flags;
    out = put_varint(out, kNoRecordedValue);
  }
  return out;
}

// ---------------------------------------------------------------------------
// JSON

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
  } else if (is_histogram(f)) {
    const Histogram& h = *p.histogram;
    if (h.count) {
      key("\"count\":");
      append_json_uint64(out, h.count);
    }
    if (has_sum(h)) {
      key("\"sum\":");
      append_json_double(out, h.sum);
    }
    key("\"bucketCounts\":[");
    std::uint64_t below = 0;
    for (const HistogramBucket& b : h.buckets) {
      append_json_uint64(out, b.count - below);
      out += ',';
      below = b.count;
    }
    append_json_uint64(out, h.count - below);
    out += ']';
    if (!h.buckets.empty()) {
      key("\"explicitBounds\":[");
      for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        if (i) out += ',';
        append_json_double(out, h.buckets[i].upper_bound);
      }
      out += ']';
    }
  } else {
    key("\"asDouble\":");
    append_json_double(out, p.value);
  }
  out += '}';
}

// ---------------------------------------------------------------------------
// Requests, written straight into their bodies: one Metric per run of a
// family's points in a request. A request is closed when the next point
// would take it past max_size, and the family goes on in the next one.

// The points [begin, end) of one family.
struct Run {
  std::uint32_t family;
  std::size_t begin, end;
};

// A bound on the bytes the points take, from the lengths of their label
// sets alone, to reserve a request's memory once: what is reserved and not
// written is never touched, and so costs no memory.
std::size_t estimated_size(const OtlpBatch& batch, std::size_t per_label_byte,
                           std::size_t per_point) {
  std::size_t n = 0;
  for (const OtlpPoint& p : batch.points()) n += p.labels.size() * per_label_byte + per_point;
  return n;
}

std::vector<Run> family_runs(const OtlpBatch& batch) {
  std::vector<Run> runs;
  const auto& points = batch.points();
  for (std::size_t i = 0; i < points.size();) {
    std::size_t j = i;
    while (j < points.size() && points[j].family == points[i].family) ++j;
    runs.push_back({points[i].family, i, j});
    i = j;
  }
  return runs;
}

// Protobuf: a length comes before what it measures, so the points of a run
// are sized first (which also decides where a request ends), then written.
// The request's own header goes in front when the request is closed.
class ProtobufRequests {
 public:
  ProtobufRequests(const OtlpBatch& batch, const KeyValues& resource, std::size_t max_size)
      : batch_(batch), max_size_(max_size ? max_size : SIZE_MAX) {
    std::string attrs, scope;
    for (const auto& [k, v] : resource) append_field(attrs, tag::resource_attributes, pb_key_value(k, v));
    append_field(resource_field_, tag::resource, attrs);
    append_field(scope, tag::scope_name, kOtlpScopeName);
    append_field(scope_field_, tag::scope, scope);
    header_room_ = 2 * (1 + 10) + resource_field_.size() + scope_field_.size();
    // Per label: the KeyValue framing; per point: times, value, flags, and a
    // Metric's share.
    reserve_ = std::min(max_size_, estimated_size(batch, 2, 96)) + header_room_ + 4096;
  }

  std::vector<std::string> encode() {
    const auto& points = batch_.points();
    std::vector<std::size_t> sizes;
    for (const Run& run : family_runs(batch_)) {
      const OtlpFamily& f = batch_.families()[run.family];
      Family pf = family(f);
      sizes.resize(run.end - run.begin);
      for (std::size_t i = run.begin; i < run.end; ++i) sizes[i - run.begin] = pb_point_size(f, points[i]);
      for (std::size_t i = run.begin; i < run.end;) {
        // As many points as fit in the open request; at least one in a new one.
        std::size_t bytes = 0, j = i;
        for (; j < run.end; ++j) {
          std::size_t more = bytes + field_size(sizes[j - run.begin]);
          if (request_size(metric_bytes_ + metric_size(pf, more)) > max_size_ && (j > i || metric_bytes_ > 0))
            break;
          bytes = more;
        }
        if (j == i) {  // not even one: this request is full
          close();
          continue;
        }
        open();
        write_metric(pf, f, i, j, bytes, sizes.data() + (i - run.begin));
        i = j;
      }
    }
    close();
    return std::move(bodies_);
  }

 private:
  struct Family {
    std::string head;      // name, description, unit
    char data_tag;         // gauge or sum
    std::string trailer;   // after the points: a Sum's temporality and monotonicity
    std::string metadata;  // the metadata field
  };

  Family family(const OtlpFamily& f) const {
    Family pf;
    append_field(pf.head, tag::metric_name, f.name);
    if (!f.help.empty()) append_field(pf.head, tag::metric_description, f.help);
    if (std::string unit = otlp_unit(f.unit); !unit.empty()) append_field(pf.head, tag::metric_unit, unit);
    pf.data_tag = is_sum(f)         ? tag::metric_sum
                  : is_histogram(f) ? tag::metric_histogram
                                    : tag::metric_gauge;
    if (is_sum(f)) {
      pf.trailer += tag::sum_temporality;
      append_varint(pf.trailer, kCumulative);
      pf.trailer += tag::sum_monotonic;
      append_varint(pf.trailer, 1);
    } else if (is_histogram(f)) {
      pf.trailer += tag::histogram_temporality;
      append_varint(pf.trailer, kCumulative);
    }
    append_field(pf.metadata, tag::metric_metadata,
                 pb_key_value("prometheus.type", prometheus_type(f.type)));
    return pf;
  }

  static std::size_t metric_inner(const Family& pf, std::size_t point_bytes) {
    return pf.head.size() + field_size(point_bytes + pf.trailer.size()) + pf.metadata.size();
  }
  // A Metric as a field of ScopeMetrics.
  static std::size_t metric_size(const Family& pf, std::size_t point_bytes) {
    return field_size(metric_inner(pf, point_bytes));
  }
  std::size_t resource_metrics_inner(std::size_t metric_bytes) const {
    return resource_field_.size() + field_size(scope_field_.size() + metric_bytes);
  }
  std::size_t request_size(std::size_t metric_bytes) const {
    return field_size(resource_metrics_inner(metric_bytes));
  }

  // Writes points [begin, end), of the sizes given, as one Metric.
  void write_metric(const Family& pf, const OtlpFamily& f, std::size_t begin, std::size_t end,
                    std::size_t point_bytes, const std::size_t* sizes) {
    std::size_t at = out_.size();
    std::size_t size = metric_size(pf, point_bytes);
    out_.resize(at + size);
    char* p = out_.data() + at;
    *p++ = tag::metrics;
    p = put_varint(p, metric_inner(pf, point_bytes));
    p = put_bytes(p, pf.head);
    *p++ = pf.data_tag;
    p = put_varint(p, point_bytes + pf.trailer.size());
    for (std::size_t i = begin; i < end; ++i)
      p = pb_write_point(p, f, batch_.points()[i], sizes[i - begin]);
    p = put_bytes(p, pf.trailer);
    put_bytes(p, pf.metadata);
    metric_bytes_ += size;
  }

  void open() {
    if (!out_.empty()) return;
    out_.reserve(reserve_);
    // Room for the request's header, which is written when it is closed.
    out_.assign(header_room_, '\0');
  }

  void close() {
    if (out_.empty()) return;
    std::string header;
    header += tag::request_resource_metrics;
    append_varint(header, resource_metrics_inner(metric_bytes_));
    header += resource_field_;
    header += tag::scope_metrics;
    append_varint(header, scope_field_.size() + metric_bytes_);
    header += scope_field_;
    std::size_t start = header_room_ - header.size();
    std::memcpy(out_.data() + start, header.data(), header.size());
    out_.erase(0, start);
    bodies_.push_back(std::move(out_));
    out_.clear();
    metric_bytes_ = 0;
  }

  const OtlpBatch& batch_;
  std::size_t max_size_;
  std::string resource_field_, scope_field_;
  std::size_t header_room_;
  std::size_t reserve_;
  std::string out_;  // the open request, after room for its header
  std::size_t metric_bytes_ = 0;
  std::vector<std::string> bodies_;
};

// JSON: points are appended as they come; one that takes the request past
// max_size is taken back, and the request closed before it.
class JsonRequests {
 public:
  JsonRequests(const OtlpBatch& batch, const KeyValues& resource, std::size_t max_size)
      : batch_(batch), max_size_(max_size ? max_size : SIZE_MAX) {
    prefix_ = "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[";
    for (std::size_t i = 0; i < resource.size(); ++i) {
      if (i) prefix_ += ',';
      append_json_key_value(prefix_, resource[i].first, resource[i].second);
    }
    prefix_ += "]},\"scopeMetrics\":[{\"scope\":{\"name\":";
    append_json_string(prefix_, kOtlpScopeName);
    prefix_ += "},\"metrics\":[";
    // Per label: {"key":..,"value":{"stringValue":..}} around it; per point:
    // times, value, and a Metric's share.
    reserve_ = std::min(max_size_, estimated_size(batch, 3, 224)) + prefix_.size() + 4096;
  }

  std::vector<std::string> encode() {
    const auto& points = batch_.points();
    for (const Run& run : family_runs(batch_)) {
      const OtlpFamily& f = batch_.families()[run.family];
      std::string head, tail;
      family(f, head, tail);
      bool in_metric = false;  // the open request has a Metric of this run
      for (std::size_t i = run.begin; i < run.end;) {
        std::size_t before = out_.size();
        bool had_metric = in_metric;
        if (out_.empty()) {
          out_.reserve(reserve_);
          out_ = prefix_;
        }
        if (!in_metric) {
          if (metrics_ > 0) out_ += ',';
          out_ += head;
        } else {
          out_ += ',';
        }
        json_write_point(out_, f, points[i]);
        if (out_.size() + tail.size() + kSuffix.size() > max_size_ && points_ > 0) {
          out_.resize(before);  // take the point back, close, and write it again
          if (had_metric) out_ += tail;
          close();
          in_metric = false;
          continue;
        }
        if (!had_metric) ++metrics_;
        in_metric = true;
        ++points_;
        ++i;
      }
      if (in_metric) out_ += tail;
    }
    close();
    return std::move(bodies_);
  }

 private:
  static constexpr std::string_view kSuffix = "]}]}]}";

  static void family(const OtlpFamily& f, std::string& head, std::string& tail) {
    head = "{\"name\":";
    append_json_string(head, f.name);
    if (!f.help.empty()) {
      head += ",\"description\":";
      append_json_string(head, f.help);
    }
    if (std::string unit = otlp_unit(f.unit); !unit.empty()) {
      head += ",\"unit\":";
      append_json_string(head, unit);
    }
    if (is_sum(f)) {
      head += ",\"sum\":{\"dataPoints\":[";
      tail = "],\"aggregationTemporality\":2,\"isMonotonic\":true}";
    } else if (is_histogram(f)) {
      head += ",\"histogram\":{\"dataPoints\":[";
      tail = "],\"aggregationTemporality\":2}";
    } else {
      head += ",\"gauge\":{\"dataPoints\":[";
      tail = "]}";
    }
    tail += ",\"metadata\":[";
    append_json_key_value(tail, "prometheus.type", prometheus_type(f.type));
    tail += "]}";
  }

  void close() {
    if (out_.empty()) return;
    out_ += kSuffix;
    bodies_.push_back(std::move(out_));
    out_.clear();
    metrics_ = points_ = 0;
  }

  const OtlpBatch& batch_;
  std::size_t max_size_;
  std::string prefix_;
  std::size_t reserve_;
  std::string out_;  // the open request
  std::size_t metrics_ = 0, points_ = 0;  // in the open request
  std::vector<std::string> bodies_;
};

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
  if (encoding == OtlpEncoding::protobuf) return ProtobufRequests(batch, resource, max_size).encode();
  return JsonRequests(batch, resource, max_size).encode();
}

}  // namespace kv::promfmt
