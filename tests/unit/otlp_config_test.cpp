// OTLP settings from flags and OTEL_* variables, the reading of collector
// responses, and Retry-After.
#include <gtest/gtest.h>

#include <map>

#include "http_client.hpp"
#include "kv-promfmt/otlp_config.hpp"
#include "kv-promfmt/otlp_exporter.hpp"

namespace kv::promfmt {
namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

OtlpSettings resolve(const OtlpFlags& flags, const FakeEnv& env = {}) {
  return resolve_otlp_settings(flags, env.lookup());
}

OtlpFlags push() {
  OtlpFlags f;
  f.push = true;
  return f;
}

TEST(OtlpConfig, KeyValueListsAreTrimmedAndPercentDecoded) {
  auto list = parse_key_value_list(" a = 1 ,b=x%2Cy,, c%3Dd=%20 ");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (KeyValues{{"a", "1"}, {"b", "x,y"}, {"c=d", " "}}));
  EXPECT_FALSE(parse_key_value_list("novalue"));
  EXPECT_FALSE(parse_key_value_list("=v"));
  EXPECT_FALSE(parse_key_value_list("a=%zz"));
  EXPECT_FALSE(parse_key_value_list("a=%2"));
  EXPECT_EQ(parse_key_value_list("a=1,a=2")->size(), 1u);
  EXPECT_TRUE(parse_key_value_list("")->empty());
}

TEST(OtlpConfig, EndpointFromFlagThenMetricsVariableThenBaseThenDefault) {
  EXPECT_EQ(resolve(push()).exporter->url, "http://localhost:4318/v1/metrics");

  FakeEnv env{{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}}};
  EXPECT_EQ(resolve(push(), env).exporter->url, "http://collector:4318/v1/metrics");
  env.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector/base/";
  EXPECT_EQ(resolve(push(), env).exporter->url, "https://collector/base/v1/metrics");
  // The metrics variable is used as it is (a missing path is "/").
  env.vars["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = "http://other:9000";
  EXPECT_EQ(resolve(push(), env).exporter->url, "http://other:9000/");
  OtlpFlags f = push();
  f.endpoint = "http://flag:1/v1/metrics";
  EXPECT_EQ(resolve(f, env).exporter->url, "http://flag:1/v1/metrics");
  f.endpoint = "http://flag:1?x=y";
  EXPECT_EQ(resolve(f, env).exporter->url, "http://flag:1/?x=y");
  f.endpoint = "collector:4318";
  EXPECT_NE(resolve(f, env).error, "");
  // A variable that is not a URL is ignored with a warning.
  env.vars["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = "ftp://x";
  auto s = resolve(push(), env);
  EXPECT_EQ(s.exporter->url, "https://collector/base/v1/metrics");
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), std::string::npos);
}

TEST(OtlpConfig, ProtocolCompressionAndTimeout) {
  auto d = resolve(push()).exporter;
  EXPECT_EQ(d->protocol, OtlpProtocol::http_protobuf);
  EXPECT_TRUE(d->gzip);
  EXPECT_EQ(d->timeout, std::chrono::seconds(10));

  FakeEnv env{{{"OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON"},
               {"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"},
               {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
               {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"}}};
  auto e = resolve(push(), env).exporter;
  EXPECT_EQ(e->protocol, OtlpProtocol::http_json);
  EXPECT_FALSE(e->gzip);
  EXPECT_EQ(e->timeout, std::chrono::milliseconds(2500));

  // An invalid metrics-specific value falls back to the general one.
  env.vars["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] = "grpc";
  auto s = resolve(push(), env);
  EXPECT_EQ(s.exporter->protocol, OtlpProtocol::http_json);
  EXPECT_EQ(s.warnings.size(), 1u);

  OtlpFlags f = push();
  f.protocol = "http/protobuf";
  f.compression = "gzip";
  f.timeout = "1s500ms";
  auto g = resolve(f, env).exporter;
  EXPECT_EQ(g->protocol, OtlpProtocol::http_protobuf);
  EXPECT_TRUE(g->gzip);
  EXPECT_EQ(g->timeout, std::chrono::milliseconds(1500));

  env.vars["OTEL_EXPORTER_OTLP_TIMEOUT"] = "-1";
  EXPECT_EQ(resolve(push(), env).exporter->timeout, std::chrono::seconds(10));
}

TEST(OtlpConfig, HeadersMergeAndTheCommandLineWins) {
  FakeEnv env{{{"OTEL_EXPORTER_OTLP_HEADERS", "general=1"},
               {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "Authorization=Bearer%20t,X-Tenant=a"}}};
  OtlpFlags f = push();
  f.headers = {"x-tenant=b", "X-Extra=c=d"};
  auto s = resolve(f, env);
  EXPECT_EQ(s.exporter->headers,
            (KeyValues{{"Authorization", "Bearer t"}, {"X-Tenant", "b"}, {"X-Extra", "c=d"}}));
  f.headers = {"bad header=x"};
  EXPECT_NE(resolve(f, env).error, "");
  env.vars["OTEL_EXPORTER_OTLP_METRICS_HEADERS"] = "bad header=x";
  f.headers.clear();
  auto w = resolve(f, env);
  EXPECT_EQ(w.exporter->headers, (KeyValues{{"general", "1"}}));
  EXPECT_EQ(w.warnings.size(), 1u);
}

TEST(OtlpConfig, CertificatesFromFlagsOrVariables) {
  FakeEnv env{{{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"},
               {"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/m.key"},
               {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/g.key"}}};
  OtlpFlags f = push();
  f.client_certificate = "/c.pem";
  auto e = resolve(f, env).exporter;
  EXPECT_EQ(e->certificate, "/ca.pem");
  EXPECT_EQ(e->client_certificate, "/c.pem");
  EXPECT_EQ(e->client_key, "/m.key");
}

TEST(OtlpConfig, ResourceFromAttributesServiceNameAndFlags) {
  OtlpFlags f;
  EXPECT_EQ(resolve(f).resource, (KeyValues{{"service.name", std::string(kDefaultServiceName)}}));
  EXPECT_FALSE(resolve(f).exporter);  // not pushing

  FakeEnv env{{{"OTEL_RESOURCE_ATTRIBUTES", "service.name=a,k8s.node.name=n1,k8s.cluster.name=c"},
               {"OTEL_SERVICE_NAME", "b"}}};
  f.resource = {"k8s.cluster.name=flag", "z=1=2"};
  EXPECT_EQ(resolve(f, env).resource, (KeyValues{{"k8s.cluster.name", "flag"},
                                                 {"k8s.node.name", "n1"},
                                                 {"service.name", "b"},
                                                 {"z", "1=2"}}));
  env.vars["OTEL_RESOURCE_ATTRIBUTES"] = "broken";
  auto s = resolve(OtlpFlags{}, env);
  EXPECT_EQ(s.resource, (KeyValues{{"service.name", "b"}}));
  EXPECT_EQ(s.warnings.size(), 1u);
  f.resource = {"novalue"};
  EXPECT_NE(resolve(f).error, "");
}

TEST(OtlpConfig, RetryMaxTimeAndLimits) {
  OtlpFlags f = push();
  f.retry_max_time = "90s";
  f.queue_size = 4;
  auto e = resolve(f).exporter;
  EXPECT_EQ(e->retry_max_time, std::chrono::seconds(90));
  EXPECT_EQ(e->queue_size, 4u);
  f.retry_max_time = "later";
  EXPECT_NE(resolve(f).error, "");
}

TEST(OtlpResponse, PartialSuccessInProtobufAndJson) {
  // ExportMetricsServiceResponse{partial_success{rejected_data_points: 3, error_message: "old"}}
  std::string pb = std::string("\x0A\x07\x08\x03\x12\x03old", 9);
  auto p = parse_otlp_success("application/x-protobuf", pb);
  EXPECT_EQ(p.rejected_points, 3);
  EXPECT_EQ(p.message, "old");
  auto j = parse_otlp_success("application/json",
                              R"({"partialSuccess":{"rejectedDataPoints":"5","errorMessage":"m"}})");
  EXPECT_EQ(j.rejected_points, 5);
  EXPECT_EQ(j.message, "m");
  EXPECT_EQ(parse_otlp_success("application/json", R"({"partialSuccess":{"rejectedDataPoints":2}})")
                .rejected_points,
            2);
  EXPECT_EQ(parse_otlp_success("application/x-protobuf", "").rejected_points, 0);
  EXPECT_EQ(parse_otlp_success("application/json", "{}").rejected_points, 0);
  EXPECT_EQ(parse_otlp_success("application/x-protobuf", "\xFF").rejected_points, 0);  // malformed
}

TEST(OtlpResponse, ErrorMessagesOfStatusBodiesAndOthers) {
  // google.rpc.Status{code: 3, message: "bad"}
  EXPECT_EQ(otlp_error_message("application/x-protobuf", std::string("\x08\x03\x12\x03" "bad", 7)), "bad");
  EXPECT_EQ(otlp_error_message("application/json", R"({"code":3,"message":"bad json"})"), "bad json");
  EXPECT_EQ(otlp_error_message("text/plain", "404 page not found\n"), "404 page not found");
  EXPECT_EQ(otlp_error_message("text/html", std::string(400, 'x')).size(), 303u);
}

TEST(RetryAfter, SecondsOrAnHttpDate) {
  EXPECT_EQ(parse_retry_after("120", 0), std::chrono::seconds(120));
  EXPECT_EQ(parse_retry_after(" 0 ", 0), std::chrono::seconds(0));
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30), std::chrono::seconds(30));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 784111777 - 30), std::chrono::seconds(30));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), std::chrono::seconds(0));
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("-5", 0));
  EXPECT_FALSE(parse_retry_after("", 0));
}

}  // namespace
}  // namespace kv::promfmt
