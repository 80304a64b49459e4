// kv-domstats' guest-agent parts that need no libvirt: the agent's replies,
// how failures are told apart, what a refresh does to the kept values, and
// the samples that come out.
#include <gtest/gtest.h>
#include <libvirt/virterror.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/guest_agent_data.hpp"
#include "kv-domstats/self_metrics.hpp"

namespace kv::domstats {
namespace {

using namespace std::chrono_literals;

// What qemu-ga 7.2 answered in the end-to-end guest, shortened.
constexpr std::string_view kInfoReply =
    R"({"return":{"version":"7.2.22","supported_commands":[)"
    R"({"enabled":true,"name":"guest-get-fsinfo","success-response":true},)"
    R"({"enabled":false,"name":"guest-get-users","success-response":true},)"
    R"({"enabled":true,"name":"guest-info","success-response":true}]}})";
constexpr std::string_view kFsinfoReply =
    R"({"return":[{"name":"vda1","total-bytes":12343296,"mountpoint":"/data","disk":[)"
    R"({"bus-type":"virtio","bus":0,"unit":0,"pci-controller":{"bus":0,"slot":3,"domain":0,)"
    R"("function":0},"dev":"/dev/vda1","target":0}],"used-bytes":15360,"type":"ext4"}]})";

TEST(DomstatsGuestAgentReplies, AgentInfoListsTheEnabledCommands) {
  AgentInfo info = parse_agent_info(kInfoReply);
  EXPECT_EQ(info.version, "7.2.22");
  EXPECT_EQ(info.enabled_commands, (std::vector<std::string>{"guest-get-fsinfo", "guest-info"}));
  EXPECT_TRUE(info.supports(kFilesystemsCommand));
  EXPECT_FALSE(info.supports("guest-get-users"));  // listed, but disabled
  EXPECT_FALSE(info.supports(kLoadCommand));       // 7.2 does not have it
}

TEST(DomstatsGuestAgentReplies, FilesystemsAsTheAgentNamesThem) {
  auto fs = parse_filesystems(kFsinfoReply);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0], (GuestFilesystem{"vda1", "/data", "ext4", 12343296, 15360}));
  // A filesystem the agent could not stat comes without its byte counts.
  auto unstated =
      parse_filesystems(R"({"return":[{"name":"sr0","mountpoint":"/media","type":"iso9660"}]})");
  ASSERT_EQ(unstated.size(), 1u);
  EXPECT_FALSE(unstated[0].total_bytes);
  EXPECT_FALSE(unstated[0].used_bytes);
  EXPECT_TRUE(parse_filesystems(R"({"return":[]})").empty());
}

TEST(DomstatsGuestAgentReplies, LoadOfQemuGuestAgent10) {
  EXPECT_EQ(parse_load(R"({"return":{"load1m":0.5,"load5m":0.25,"load15m":0.125}})"),
            (GuestLoad{0.5, 0.25, 0.125}));
  // JSON has one number type: a whole load comes without a decimal point.
  EXPECT_EQ(parse_load(R"({"return":{"load1m":2,"load5m":1,"load15m":0}})"), (GuestLoad{2, 1, 0}));
}

TEST(DomstatsGuestAgentReplies, WhatIsNotAReplyThrows) {
  EXPECT_THROW(parse_agent_info("not json"), std::runtime_error);
  EXPECT_THROW(parse_agent_info(R"({"error":{"class":"GenericError"}})"), std::runtime_error);
  EXPECT_THROW(parse_agent_info(R"({"return":{"version":"1"}})"), std::runtime_error);
  EXPECT_THROW(parse_filesystems(R"({"return":{}})"), std::runtime_error);
  EXPECT_THROW(parse_filesystems(R"({"return":[1]})"), std::runtime_error);
  EXPECT_THROW(parse_load(R"({"return":{"load1m":1,"load5m":1}})"), std::runtime_error);
  EXPECT_THROW(parse_load(R"({"return":[]})"), std::runtime_error);
}

TEST(DomstatsGuestAgentFailures, ToldApartByCodeAndTime) {
  auto classify = [](int code, std::chrono::milliseconds took) {
    return classify_agent_failure(code, took, 2000ms);
  };
  EXPECT_EQ(classify(VIR_ERR_OPERATION_INVALID, 1ms), AgentFailure::not_running);
  EXPECT_EQ(classify(VIR_ERR_ARGUMENT_UNSUPPORTED, 1ms), AgentFailure::not_configured);
  // One code for "not connected" (at once) and "not available for now"
  // (after the wait, which libvirt's guest-sync may make longer).
  EXPECT_EQ(classify(VIR_ERR_AGENT_UNRESPONSIVE, 3ms), AgentFailure::not_connected);
  EXPECT_EQ(classify(VIR_ERR_AGENT_UNRESPONSIVE, 2000ms), AgentFailure::timeout);
  EXPECT_EQ(classify(VIR_ERR_AGENT_UNRESPONSIVE, 5004ms), AgentFailure::timeout);
  EXPECT_EQ(classify(VIR_ERR_OPERATION_TIMEOUT, 30000ms), AgentFailure::timeout);
  EXPECT_EQ(classify(VIR_ERR_SYSTEM_ERROR, 1ms), AgentFailure::connection);
  EXPECT_EQ(classify(VIR_ERR_OPERATION_DENIED, 1ms), AgentFailure::connection);
  EXPECT_EQ(classify(VIR_ERR_INTERNAL_ERROR, 1ms), AgentFailure::error);
  EXPECT_EQ(classify(VIR_ERR_NO_DOMAIN, 1ms), AgentFailure::error);
  EXPECT_EQ(to_string(AgentFailure::not_connected), "not_connected");
  EXPECT_TRUE(keeps_guest_values(AgentFailure::timeout));
  EXPECT_TRUE(keeps_guest_values(AgentFailure::connection));
  EXPECT_FALSE(keeps_guest_values(AgentFailure::not_connected));
  EXPECT_FALSE(keeps_guest_values(AgentFailure::error));
}

AgentRefresh answered(std::optional<GuestLoad> load = std::nullopt) {
  AgentRefresh r;
  r.info = parse_agent_info(kInfoReply);
  r.filesystems = parse_filesystems(kFsinfoReply);
  r.load = load;
  r.seconds = 0.01;
  return r;
}

AgentRefresh failed(AgentFailure failure) {
  AgentRefresh r;
  r.failure = failure;
  r.seconds = 5;
  return r;
}

TEST(DomstatsGuestAgentRefresh, AnAnswerReplacesTheValues) {
  GuestAgentData data;
  GuestAgentStatus status;
  apply_refresh(data, status, answered(GuestLoad{1, 2, 3}), 1000);
  EXPECT_TRUE(status.up);
  EXPECT_EQ(status.last_success_ms, 1000);
  EXPECT_DOUBLE_EQ(status.refresh_seconds, 0.01);
  ASSERT_TRUE(data.filesystems);
  EXPECT_EQ(data.filesystems->size(), 1u);
  EXPECT_TRUE(data.load);
  // The next agent does not offer the load any more: it is dropped.
  apply_refresh(data, status, answered(), 2000);
  EXPECT_FALSE(data.load);
  EXPECT_TRUE(data.filesystems);
  EXPECT_EQ(status.last_success_ms, 2000);
}

TEST(DomstatsGuestAgentRefresh, ATimeoutKeepsTheValuesAnAbsentAgentDropsThem) {
  GuestAgentData data;
  GuestAgentStatus status;
  apply_refresh(data, status, answered(), 1000);
  apply_refresh(data, status, failed(AgentFailure::timeout), 2000);
  EXPECT_FALSE(status.up);
  EXPECT_TRUE(data.filesystems);  // a hung agent tells nothing new
  EXPECT_TRUE(status.info);
  EXPECT_EQ(status.last_success_ms, 1000);
  EXPECT_DOUBLE_EQ(status.refresh_seconds, 5);
  apply_refresh(data, status, failed(AgentFailure::timeout), 3000);
  apply_refresh(data, status, failed(AgentFailure::not_connected), 4000);
  EXPECT_FALSE(data.filesystems);  // the agent is gone: so are its values
  EXPECT_FALSE(status.info);
  EXPECT_EQ(status.errors[static_cast<std::size_t>(AgentFailure::timeout)], 2u);
  EXPECT_EQ(status.errors[static_cast<std::size_t>(AgentFailure::not_connected)], 1u);
  EXPECT_EQ(status.errors[static_cast<std::size_t>(AgentFailure::error)], 0u);
}

struct Collected {
  std::string name;
  std::map<std::string, std::string> labels;
  double value;
};

template <typename Map>
std::vector<Collected> collect(Map map) {
  std::vector<Collected> out;
  map([&](const SampleOut& s) {
    Collected c{std::string(s.name), {}, s.value};
    for (const auto& [k, v] : s.labels) c.labels.emplace(k, v);
    out.push_back(c);
  });
  return out;
}

std::vector<Collected> only(const std::vector<Collected>& all, std::string_view prefix) {
  std::vector<Collected> out;
  for (const auto& c : all)
    if (c.name.starts_with(prefix)) out.push_back(c);
  return out;
}

TEST(DomstatsGuestAgentMapping, FilesystemsAndLoadWithKubeVirtsLabels) {
  DomainRecord r;
  r.name = "ns1_vm1";
  r.guest = GuestAgentData{
      std::vector<GuestFilesystem>{{"vda1", "/", "xfs", 1000, 400},
                                   {"vda1", "/", "xfs", 1000, 400},  // listed twice
                                   {"sr0", "/media", "iso9660", std::nullopt, std::nullopt}},
      GuestLoad{0.5, 0.25, 0.125}};
  auto got = collect([&](const SampleSink& sink) { map_domain(r, {"node01", false}, sink); });
  auto fs = only(got, "kubevirt_vmi_filesystem_");
  ASSERT_EQ(fs.size(), 2u);  // once, and nothing for what the agent could not stat
  EXPECT_EQ(fs[0].name, "kubevirt_vmi_filesystem_capacity_bytes");
  EXPECT_EQ(fs[0].labels, (std::map<std::string, std::string>{{"disk_name", "vda1"},
                                                              {"file_system_type", "xfs"},
                                                              {"mount_point", "/"},
                                                              {"name", "vm1"},
                                                              {"namespace", "ns1"},
                                                              {"node", "node01"}}));
  EXPECT_EQ(fs[0].value, 1000);
  EXPECT_EQ(fs[1].name, "kubevirt_vmi_filesystem_used_bytes");
  EXPECT_EQ(fs[1].value, 400);
  auto load = only(got, "kubevirt_vmi_guest_load_");
  ASSERT_EQ(load.size(), 3u);
  EXPECT_EQ(load[0].name, "kubevirt_vmi_guest_load_1m");
  EXPECT_EQ(load[0].value, 0.5);
  EXPECT_EQ(load[1].value, 0.25);
  EXPECT_EQ(load[2].name, "kubevirt_vmi_guest_load_15m");
  EXPECT_EQ(load[2].value, 0.125);
}

TEST(DomstatsGuestAgentMapping, EmitAllOnlyWhereTheAgentWasAsked) {
  DomainRecord r;
  r.name = "ns1_vm1";
  auto all = [&] {
    return collect([&](const SampleSink& sink) { map_domain(r, {"node01", true}, sink); });
  };
  EXPECT_TRUE(only(all(), "kubevirt_vmi_guest_load_").empty());  // no --guest-agent
  r.guest = GuestAgentData{std::vector<GuestFilesystem>{{"vda1", "/", "ext4", 10, std::nullopt}},
                           std::nullopt};
  auto got = all();
  auto load = only(got, "kubevirt_vmi_guest_load_");
  ASSERT_EQ(load.size(), 3u);
  for (const auto& l : load) EXPECT_TRUE(std::isnan(l.value)) << l.name;
  auto fs = only(got, "kubevirt_vmi_filesystem_");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].value, 10);
  EXPECT_TRUE(std::isnan(fs[1].value));  // used bytes not reported
}

TEST(DomstatsGuestAgentSelfMetrics, HealthPerVm) {
  CycleResult cycle;
  DomainResult d{};
  d.record.name = "ns1_vm1";
  d.record.source = "qemu:///system";
  GuestAgentStatus status;
  status.up = false;
  status.stuck = true;
  status.errors[static_cast<std::size_t>(AgentFailure::timeout)] = 3;
  status.refresh_seconds = 5.5;
  status.last_success_ms = 1500;
  status.info = parse_agent_info(kInfoReply);
  d.agent = status;
  cycle.domains.push_back(d);
  DomainResult without_agent{};
  without_agent.record.name = "ns1_vm2";
  cycle.domains.push_back(without_agent);
  auto got = only(
      collect([&](const SampleSink& sink) { emit_self_metrics(cycle, "node01", sink); }),
      "kv_domstats_guest_agent_");
  std::map<std::string, double> by_series;
  for (const auto& c : got) {
    EXPECT_EQ(c.labels.at("name"), "vm1") << c.name;
    std::string key = c.name;
    if (c.labels.count("reason")) key += "/" + c.labels.at("reason");
    if (c.labels.count("command")) key += "/" + c.labels.at("command");
    by_series[key] = c.value;
  }
  EXPECT_EQ(by_series, (std::map<std::string, double>{
                           {"kv_domstats_guest_agent_up", 0},
                           {"kv_domstats_guest_agent_stuck", 1},
                           {"kv_domstats_guest_agent_errors_total/timeout", 3},
                           {"kv_domstats_guest_agent_refresh_duration_seconds", 5.5},
                           {"kv_domstats_guest_agent_last_success_timestamp_seconds", 1.5},
                           {"kv_domstats_guest_agent_command_supported/guest-get-fsinfo", 1},
                           {"kv_domstats_guest_agent_command_supported/guest-get-load", 0},
                       }));
}

}  // namespace
}  // namespace kv::domstats
