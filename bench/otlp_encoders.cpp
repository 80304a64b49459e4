// otlp-encoders: kv-promfmt's hand-written OTLP encoders against code that
// protoc generates from the official OTLP .proto files, on the same data.
//
// Reads a sample stream on stdin and takes its last snapshot as an OTLP
// batch (kv-promfmt's own tracker). Then, $runs times each, alternating:
//   hand-written protobuf   encode_otlp(..., protobuf): the bytes kv-promfmt sends
//   libprotobuf             the same ExportMetricsServiceRequest built as generated
//                           messages (on an Arena) and serialized
//   hand-written JSON       encode_otlp(..., json)
//   libprotobuf JSON        util::MessageToJsonString of that message (enums as ints)
// and prints, for each, the median CPU time of the thread (which waiting for
// a CPU on a busy machine does not inflate), the fastest wall time, and the
// size of what it made.
//
// It also checks that the two protobuf encodings agree: the hand-written
// bytes parse with the generated code and serialize back to the same bytes,
// and, without the one field the older .proto files lack (Metric.metadata,
// kept by the parser as an unknown field), they are exactly what the
// generated code writes for its own message.
//
// Built by bench/promfmt with protoc's output for the .proto files of
// @opentelemetry/otlp-grpc-exporter-base@0.38.0 (the last npm package that
// ships them as .proto files), fetched into the build directory.
#include <time.h>

#include <google/protobuf/arena.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "exposition.hpp"
#include "kv-promfmt/otlp_batch.hpp"
#include "kv-promfmt/otlp_encoder.hpp"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "record_parser.hpp"
#include "snapshot.hpp"

namespace pb = opentelemetry::proto;
using kv::promfmt::KeyValues;
using kv::promfmt::OtlpBatch;
using kv::promfmt::OtlpEncoding;

namespace {

std::string unescaped(std::string_view escaped) {
  std::string out(kv::promfmt::unescaped_size(escaped), '\0');
  kv::promfmt::write_unescaped(out.data(), escaped);
  return out;
}

// The batch as generated messages, by the same mapping as otlp_encoder.cpp.
pb::collector::metrics::v1::ExportMetricsServiceRequest* build(const OtlpBatch& batch,
                                                               const KeyValues& resource,
                                                               google::protobuf::Arena* arena) {
  auto* req = google::protobuf::Arena::CreateMessage<pb::collector::metrics::v1::ExportMetricsServiceRequest>(arena);
  auto* rm = req->add_resource_metrics();
  for (const auto& [k, v] : resource) {
    auto* a = rm->mutable_resource()->add_attributes();
    a->set_key(k);
    a->mutable_value()->set_string_value(v);
  }
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name(std::string(kv::promfmt::kOtlpScopeName));
  pb::metrics::v1::Metric* metric = nullptr;
  std::uint32_t current = UINT32_MAX;
  bool counter = false;
  for (const kv::promfmt::OtlpPoint& p : batch.points()) {
    if (p.family != current) {
      current = p.family;
      const kv::promfmt::OtlpFamily& f = batch.families()[current];
      counter = f.type == kv::MetricType::counter;
      metric = sm->add_metrics();
      metric->set_name(std::string(f.name));
      if (!f.help.empty()) metric->set_description(std::string(f.help));
      if (std::string unit = kv::promfmt::otlp_unit(f.unit); !unit.empty()) metric->set_unit(unit);
      if (counter) {
        metric->mutable_sum()->set_aggregation_temporality(
            pb::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
        metric->mutable_sum()->set_is_monotonic(true);
      } else {
        metric->mutable_gauge();
      }
    }
    auto* dp = counter ? metric->mutable_sum()->add_data_points()
                       : metric->mutable_gauge()->add_data_points();
    if (counter) dp->set_start_time_unix_nano(static_cast<std::uint64_t>(p.start_ms) * 1'000'000);
    dp->set_time_unix_nano(static_cast<std::uint64_t>(p.time_ms) * 1'000'000);
    if (p.stale) dp->set_flags(1);
    else dp->set_as_double(p.value);
    kv::promfmt::LabelSetCursor labels(p.labels);
    std::string_view name, value;
    while (labels.next(name, value)) {
      auto* a = dp->add_attributes();
      a->set_key(std::string(name));
      a->mutable_value()->set_string_value(unescaped(value));
    }
  }
  return req;
}

double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}
double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Timing {
  std::vector<double> cpu, wall;
  std::size_t bytes = 0;
  template <typename F>
  void measure(F&& f) {
    double c0 = cpu_ms(), w0 = wall_ms();
    f();
    cpu.push_back(cpu_ms() - c0);
    wall.push_back(wall_ms() - w0);
  }
  double median_cpu() {
    std::sort(cpu.begin(), cpu.end());
    return cpu.size() % 2 ? cpu[cpu.size() / 2] : (cpu[cpu.size() / 2 - 1] + cpu[cpu.size() / 2]) / 2;
  }
  double fastest_wall() { return *std::min_element(wall.begin(), wall.end()); }
};

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  kv::RecordParser parser;
  kv::SnapshotBuilder builder;
  std::shared_ptr<const kv::Snapshot> snapshot;
  for (std::string line; std::getline(std::cin, line);) {
    auto kind = parser.parse(line);
    if (kind == kv::RecordKind::sample) builder.add(parser.sample());
    else if (kind == kv::RecordKind::end) snapshot = builder.finish();
  }
  if (!snapshot) {
    std::fprintf(stderr, "otlp-encoders: no complete snapshot on stdin\n");
    return 1;
  }
  const kv::Snapshot* ptrs[] = {snapshot.get()};
  kv::promfmt::OtlpSeriesTracker tracker;
  auto batch = tracker.next(kv::merge_snapshots(ptrs), {snapshot}, 1763856000000);
  const KeyValues resource = {{"service.name", "bench"}};

  Timing ours, theirs, ours_json, theirs_json;
  std::string ours_bytes, theirs_bytes;
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.always_print_enums_as_ints = true;
  for (int r = 0; r < runs; ++r) {
    ours.measure([&] {
      ours_bytes = kv::promfmt::encode_otlp(*batch, resource, OtlpEncoding::protobuf).front();
    });
    theirs.measure([&] {
      google::protobuf::Arena arena;
      build(*batch, resource, &arena)->SerializeToString(&theirs_bytes);
    });
    ours_json.measure([&] {
      ours_json.bytes = kv::promfmt::encode_otlp(*batch, resource, OtlpEncoding::json).front().size();
    });
    theirs_json.measure([&] {
      google::protobuf::Arena arena;
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(*build(*batch, resource, &arena), &json,
                                                        json_options);
      theirs_json.bytes = json.size();
    });
  }
  ours.bytes = ours_bytes.size();
  theirs.bytes = theirs_bytes.size();

  pb::collector::metrics::v1::ExportMetricsServiceRequest parsed;
  bool parses = parsed.ParseFromString(ours_bytes);
  bool round_trip = parses && parsed.SerializeAsString() == ours_bytes;
  parsed.DiscardUnknownFields();
  bool same_message = parses && parsed.SerializeAsString() == theirs_bytes;

  std::printf("points %zu\n", batch->points().size());
  auto row = [](const char* what, Timing& t) {
    std::printf("%s: cpu median %.1f ms, wall fastest %.1f ms, %zu bytes\n", what, t.median_cpu(),
                t.fastest_wall(), t.bytes);
  };
  row("hand-written protobuf", ours);
  row("libprotobuf protobuf", theirs);
  row("hand-written JSON", ours_json);
  row("libprotobuf JSON", theirs_json);
  std::printf("canonical (parses and re-serializes to the same bytes): %s\n", round_trip ? "yes" : "NO");
  std::printf("same message as libprotobuf's (without Metric.metadata): %s\n",
              same_message ? "yes" : "NO");
  return round_trip && same_message ? 0 : 1;
}
