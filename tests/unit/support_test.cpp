// Tests of the small shared pieces: negotiation, durations, gzip, the
// sample writer and atomic file replacement.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "atomic_file.hpp"
#include "content_negotiation.hpp"
#include "duration.hpp"
#include "gzip.hpp"
#include "metric_catalog.hpp"
#include "metric_model.hpp"
#include "record_parser.hpp"
#include "sample_writer.hpp"

namespace kv {
namespace {

TEST(Negotiation, PrometheusDefaultAcceptHeaderGetsOpenMetrics) {
  auto n = negotiate_format(
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
      "application/openmetrics-text;version=0.0.1;q=0.4,"
      "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1");
  EXPECT_EQ(n.format, ExpositionFormat::openmetrics);
  EXPECT_EQ(n.content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
}

TEST(Negotiation, FallsBackToText) {
  for (const char* accept : {"", "*/*", "application/json", "text/plain",
                             "application/openmetrics-text;version=0.0.1",
                             "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"}) {
    auto n = negotiate_format(accept);
    EXPECT_EQ(n.format, ExpositionFormat::prometheus_text) << accept;
    EXPECT_EQ(n.content_type, "text/plain; version=0.0.4; charset=utf-8") << accept;
  }
}

TEST(Negotiation, HonoursQValues) {
  EXPECT_EQ(negotiate_format("application/openmetrics-text;q=0.1, text/plain;q=0.9").format,
            ExpositionFormat::prometheus_text);
  EXPECT_EQ(negotiate_format("text/plain;q=0, application/openmetrics-text").format,
            ExpositionFormat::openmetrics);
  EXPECT_EQ(negotiate_format("application/openmetrics-text;q=0").format,
            ExpositionFormat::prometheus_text);
}

TEST(Negotiation, Gzip) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("br, gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("identity, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));
  EXPECT_TRUE(accepts_gzip("br;q=1, x-gzip;q=0.1"));
}

TEST(Duration, ParsesAndFormats) {
  EXPECT_EQ(parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("0"), std::chrono::milliseconds(0));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration("9999999999999999h"));  // overflows 64-bit milliseconds
  EXPECT_EQ(format_duration(std::chrono::milliseconds(5'400'250)), "1h30m250ms");
}

TEST(Gzip, RoundTrips) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += "metric{label=\"" + std::to_string(i) + "\"} 1\n";
  std::string z = gzip_compress(data);
  ASSERT_GT(z.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(data.size() + 1, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(z.data());
  zs.avail_in = static_cast<uInt>(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, data);
}

TEST(MetricModel, Names) {
  EXPECT_TRUE(is_valid_metric_name("kubevirt_vmi_cpu_usage_seconds_total"));
  EXPECT_TRUE(is_valid_metric_name("job:rate:5m"));
  EXPECT_FALSE(is_valid_metric_name("1abc"));
  EXPECT_FALSE(is_valid_metric_name("a.b"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_TRUE(is_valid_label_name("_x"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
  EXPECT_TRUE(is_reserved_label_name("__name__"));
  EXPECT_FALSE(is_reserved_label_name("_name"));
}

TEST(SampleWriter, WritesLinesTheReaderAccepts) {
  std::string out;
  SampleOut s;
  s.name = "kubevirt_vmi_network_receive_bytes_total";
  s.type = MetricType::counter;
  s.help = "Bytes \"received\"\n";
  s.unit = "bytes";
  s.labels = {{"interface", "default"}, {"name", "vm\\1\t\x01"}};
  s.value = 12345678901.0;
  s.timestamp_ms = 1763856000123;
  append_sample_line(out, s);
  EXPECT_EQ(out,
            "{\"name\":\"kubevirt_vmi_network_receive_bytes_total\",\"type\":\"counter\","
            "\"help\":\"Bytes \\\"received\\\"\\n\",\"unit\":\"bytes\",\"labels\":{\"interface\":"
            "\"default\",\"name\":\"vm\\\\1\\t\\u0001\"},\"value\":12345678901,\"ts\":1763856000123}\n");
  RecordParser p;
  ASSERT_EQ(p.parse(std::string_view(out).substr(0, out.size() - 1)), RecordKind::sample);
  EXPECT_EQ(p.sample().labels[1].second, "vm\\1\t\x01");
  EXPECT_EQ(p.sample().help, "Bytes \"received\"\n");
  EXPECT_EQ(p.sample().value, 12345678901.0);

  out.clear();
  s = SampleOut{};
  s.name = "g";
  s.value = std::nan("");
  append_sample_line(out, s);
  append_end_line(out, "kv-test", std::nullopt);
  EXPECT_EQ(out, "{\"name\":\"g\",\"value\":\"NaN\"}\n{\"end\":\"kv-test\"}\n");

  // Integral values beyond 64 bits in exponent form, which readers accept.
  out.clear();
  s.value = 123456789012345678901.0;
  append_sample_line(out, s);
  EXPECT_EQ(out, "{\"name\":\"g\",\"value\":1.2345678901234568e+20}\n");
  ASSERT_EQ(p.parse(std::string_view(out).substr(0, out.size() - 1)), RecordKind::sample);
  EXPECT_EQ(p.sample().value, 123456789012345678901.0);
}

TEST(SampleWriter, WritesHistogramsTheReaderAccepts) {
  const HistogramBucket buckets[] = {{1e-05, 0}, {0.5, 1}, {1, 3}, {100000, 3}, {1e6, 3}};
  SampleOut s;
  s.name = "kubevirt_vmi_phase_transition_time_seconds";
  s.type = MetricType::histogram;
  s.labels = {{"phase", "Running"}};
  s.buckets = buckets;
  s.sum = 2.75;
  s.value = 4;
  std::string out;
  append_sample_line(out, s);
  EXPECT_EQ(out,
            "{\"name\":\"kubevirt_vmi_phase_transition_time_seconds\",\"type\":\"histogram\","
            "\"labels\":{\"phase\":\"Running\"},\"buckets\":{\"1e-05\":0,\"0.5\":1,\"1\":3,"
            "\"100000\":3,\"1e+06\":3,\"+Inf\":4},\"sum\":2.75,\"value\":4}\n");
  RecordParser p;
  ASSERT_EQ(p.parse(std::string_view(out).substr(0, out.size() - 1)), RecordKind::sample)
      << p.reject().message;
  ASSERT_EQ(p.sample().buckets.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(p.sample().buckets[i].upper_bound, buckets[i].upper_bound);
    EXPECT_EQ(p.sample().buckets[i].count, buckets[i].count);
  }
  EXPECT_EQ(p.sample().sum, 2.75);

  // A catalog row gives the type; the producer the buckets.
  SampleOut c = catalog_sample<SampleOut>(MetricId::kubevirt_vmi_phase_transition_time_seconds,
                                          SampleOut::Labels{{"phase", "Running"}, {"last_phase", "Scheduled"}}, 0);
  EXPECT_EQ(c.type, MetricType::histogram);
  out.clear();
  append_sample_line(out, c);
  ASSERT_EQ(p.parse(std::string_view(out).substr(0, out.size() - 1)), RecordKind::sample)
      << p.reject().message;  // no buckets yet: only +Inf, all zero
  EXPECT_NE(out.find("\"buckets\":{\"+Inf\":0},\"sum\":0,\"value\":0"), std::string::npos) << out;
}

TEST(SampleWriter, ReplacesInvalidUtf8) {
  std::string out;
  append_json_string(out, "ok \xc3\xa9 bad \xff\xfe end \xe2\x82");
  EXPECT_EQ(out, "\"ok \xc3\xa9 bad \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(AtomicFile, ReplacesWithModeAndLeavesNoTempFile) {
  char dir_template[] = "/tmp/kv-unit.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template, path = dir + "/x.prom";
  for (const char* content : {"first\n", "second\n"}) {
    replace_file_atomically(path, 0644, [&](const WriteChunk& w) { w(content); });
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), content);
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  try {
    replace_file_atomically(dir + "/missing/x.prom", 0644, [](const WriteChunk&) {});
    ADD_FAILURE() << "no error for a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write " + dir + "/missing/x.prom: cannot create " + dir +
                                         "/missing/x.prom.tmp." + std::to_string(::getpid()) +
                                         ": No such file or directory");
  }
  ::unlink(path.c_str());
  EXPECT_EQ(::rmdir(dir.c_str()), 0) << "a temp file was left behind";
}

}  // namespace
}  // namespace kv
