// kv-domstats' pure parts: identity, labels and the libvirt field mapping.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/ephemeral.hpp"
#include "kv-domstats/libvirt_reader.hpp"
#include "metric_catalog.hpp"

namespace kv::domstats {
namespace {

struct Collected {
  std::string name;
  std::map<std::string, std::string> labels;
  double value;
};

std::vector<Collected> map_all(const DomainRecord& r, bool emit_all = false, bool dirty_rate = false) {
  std::vector<Collected> out;
  MappingOptions options{"node01", emit_all, dirty_rate};
  map_domain(r, options, [&](const SampleOut& s) {
    Collected c{std::string(s.name), {}, s.value};
    for (const auto& [k, v] : s.labels) c.labels.emplace(k, v);
    out.push_back(c);
  });
  return out;
}

TEST(DomstatsIdentity, KubeVirtDomainNames) {
  auto id = kubevirt_identity("default_vm1");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->ns, "default");
  EXPECT_EQ(id->name, "vm1");
  EXPECT_TRUE(kubevirt_identity("kube-system_my-vm.example"));
  for (const char* foreign : {"vm1", "_vm1", "ns_", "a_b_c", ""})
    EXPECT_FALSE(kubevirt_identity(foreign)) << foreign;
  EXPECT_EQ(device_label("ua-rootdisk"), "rootdisk");
  EXPECT_EQ(device_label("virtio-disk0"), "virtio-disk0");
}

TEST(DomstatsMapping, ConvertsUnitsAndLabelsAsKubeVirt) {
  DomainRecord r;
  r.name = "ns1_vm1";
  r.stats = {{"cpu.time", std::uint64_t(90000000)},
             {"balloon.current", std::uint64_t(65536)},
             {"vcpu.maximum", std::uint64_t(2)},
             {"vcpu.0.state", std::int64_t(1)},
             {"vcpu.0.time", std::uint64_t(1500000000)},
             {"vcpu.1.state", std::int64_t(2)},
             {"block.count", std::uint64_t(1)},
             {"block.0.name", std::string("vda")},
             {"block.0.rd.times", std::uint64_t(2000000000)},
             {"net.count", std::uint64_t(1)},
             {"net.0.name", std::string("tap0")},
             {"net.0.rx.bytes", std::uint64_t(1000)}};
  r.memory = {{"rss", std::uint64_t(10)}, {"major_fault", std::uint64_t(7)}};
  r.aliases = {{"vda", "ua-rootdisk"}};
  auto got = map_all(r);
  auto find = [&](const std::string& name) -> const Collected& {
    for (const auto& c : got)
      if (c.name == name) return c;
    static Collected none{"", {}, NAN};
    ADD_FAILURE() << name << " missing";
    return none;
  };
  EXPECT_DOUBLE_EQ(find("kubevirt_vmi_cpu_usage_seconds_total").value, 0.09);
  EXPECT_DOUBLE_EQ(find("kubevirt_vmi_memory_domain_bytes").value, 65536.0 * 1024);
  EXPECT_DOUBLE_EQ(find("kubevirt_vmi_memory_resident_bytes").value, 10240);
  EXPECT_DOUBLE_EQ(find("kubevirt_vmi_memory_pgmajfault_total").value, 7);  // no conversion
  const auto& vcpu = find("kubevirt_vmi_vcpu_seconds_total");
  EXPECT_EQ(vcpu.labels.at("state"), "running");
  EXPECT_EQ(vcpu.labels.at("id"), "0");
  EXPECT_DOUBLE_EQ(vcpu.value, 1.5);
  EXPECT_EQ(find("kubevirt_vmi_storage_read_times_seconds_total").labels.at("drive"), "rootdisk");
  const auto& rx = find("kubevirt_vmi_network_receive_bytes_total");
  EXPECT_EQ(rx.labels.at("interface"), "tap0");  // no alias: the device name
  EXPECT_EQ(rx.labels.at("node"), "node01");
  EXPECT_EQ(rx.labels.at("namespace"), "ns1");
  EXPECT_EQ(rx.labels.at("name"), "vm1");
  // The deprecated twin exists for rx only: tx was not reported.
  int traffic = 0;
  for (const auto& c : got)
    if (c.name == "kubevirt_vmi_network_traffic_bytes_total") {
      ++traffic;
      EXPECT_EQ(c.labels.at("type"), "rx");
    }
  EXPECT_EQ(traffic, 1);
  // Missing fields are absent, never 0.
  for (const auto& c : got) {
    EXPECT_NE(c.name, "kubevirt_vmi_cpu_user_usage_seconds_total");
    EXPECT_NE(c.name, "kubevirt_vmi_memory_available_bytes");
    EXPECT_NE(c.name, "kubevirt_vmi_migration_data_remaining_bytes");
  }
}

TEST(DomstatsMapping, EmitAllUsesZeroForCountersAndNaNForGauges) {
  DomainRecord r;
  r.name = "ns1_vm1";
  r.stats = {{"vcpu.maximum", std::uint64_t(1)}, {"block.count", std::uint64_t(1)},
             {"block.0.name", std::string("vda")}, {"net.count", std::uint64_t(1)},
             {"net.0.name", std::string("tap0")}};
  auto got = map_all(r, true, true);
  std::set<std::string> names;
  for (const auto& c : got) {
    names.insert(c.name);
    const MetricInfo* info = find_metric(c.name);
    ASSERT_NE(info, nullptr) << c.name << " is not in the catalog";
    EXPECT_EQ(info->source, MetricSource::libvirt_domstats) << c.name;
    // Samples of a histogram row would need buckets, which the mapping has not.
    EXPECT_NE(info->type, CatalogType::histogram) << c.name;
    if (info->type == CatalogType::counter) {
      EXPECT_EQ(c.value, 0) << c.name;
    } else {
      EXPECT_TRUE(std::isnan(c.value)) << c.name;
    }
    if (c.name == "kubevirt_vmi_vcpu_seconds_total") {
      EXPECT_EQ(c.labels.at("state"), "offline");
    }
  }
  // Everything but the migration metrics (no job) and the guest-agent and
  // event-driven ones (not from domain stats).
  EXPECT_EQ(names.size(), 36u);
  EXPECT_FALSE(names.count("kubevirt_vmi_migration_data_bytes_total"));
  // Nothing measures the dirty rate without --dirty-rate: no placeholder.
  std::set<std::string> without;
  for (const auto& c : map_all(r, true, false)) without.insert(c.name);
  EXPECT_EQ(without.size(), 35u);
  EXPECT_FALSE(without.count("kubevirt_vmi_dirty_rate_bytes_per_second"));
  EXPECT_TRUE(names.count("kubevirt_vmi_dirty_rate_bytes_per_second"));
}

TEST(DomstatsMapping, NotKubeVirtsDomainsGiveNothing) {
  DomainRecord r;
  r.name = "plain-guest";
  r.stats = {{"cpu.time", std::uint64_t(1)}};
  EXPECT_TRUE(map_all(r, true).empty());
}

}  // namespace
}  // namespace kv::domstats

namespace kv::domstats {
namespace {

TEST(DomstatsEphemeral, KeepsTheLastJobForAWhile) {
  EphemeralMemory memory(std::chrono::seconds(30));
  auto domain = [](bool job) {
    DomainResult d{};
    d.record.name = "ns_vm";
    d.record.uuid = "u1";
    if (job) {
      d.record.job_type = 2;
      d.record.job = {{"data_remaining", std::uint64_t(5)}};
    }
    return std::vector<DomainResult>{d};
  };
  auto with_job = domain(true);
  memory.apply(with_job, 1000);
  auto after = domain(false);
  memory.apply(after, 20000);  // 19 s later: kept
  ASSERT_TRUE(after[0].record.job_type);
  EXPECT_EQ(as_number(after[0].record.job.at("data_remaining")), 5.0);
  auto later = domain(false);
  memory.apply(later, 40000);  // 39 s after the job was last seen: gone
  EXPECT_FALSE(later[0].record.job_type);
}

}  // namespace
}  // namespace kv::domstats
