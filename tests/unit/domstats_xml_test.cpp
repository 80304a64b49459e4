// kv-domstats' domain XML facts, and the vCPU pinning worked out from them
// as virDomainGetVcpuPinInfo reports it (e2e-kv-domstats.bats compares the
// two against a real libvirtd).
#include <gtest/gtest.h>

#include "kv-domstats/domain_xml.hpp"

namespace kv::domstats {
namespace {

TEST(DomstatsXml, AliasesAndKubeVirtUid) {
  auto facts = parse_domain_xml(R"(<domain type='kvm'>
  <name>default_vm1</name>
  <metadata><kubevirt xmlns="http://kubevirt.io"><uid>1b2c-uid</uid></kubevirt></metadata>
  <devices>
    <disk type='file' device='disk'><target dev='vda' bus='virtio'/><alias name='ua-rootdisk'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
    <interface type='ethernet'><target dev='tap0'/><alias name="ua-default"/></interface>
  </devices>
</domain>)");
  EXPECT_EQ(facts.kubevirt_uid, "1b2c-uid");
  EXPECT_EQ(facts.aliases, (std::map<std::string, std::string>{{"tap0", "ua-default"},
                                                               {"vda", "ua-rootdisk"}}));
  EXPECT_TRUE(parse_domain_xml("not xml").aliases.empty());
}

TEST(DomstatsXml, OnlyTheKnownPathsCount) {
  auto facts = parse_domain_xml(R"(<domain type='kvm'>
  <metadata>
    <other xmlns="http://example.com"><uid>not-this</uid></other>
    <kubevirt xmlns="http://kubevirt.io"><uid>a&amp;b<![CDATA[<c>]]></uid></kubevirt>
    <kubevirt xmlns="http://kubevirt.io"><uid>second</uid></kubevirt>
  </metadata>
  <devices>
    <disk><source><target dev='nested'/></source><target dev='vdb'/><target dev='vdc'/>
      <alias name='ua-data&apos;s'/></disk>
    <hostdev><target dev='hd'/><alias name='ua-hostdev'/></hostdev>
    <interface><alias name='ua-no-target'/></interface>
  </devices>
</domain>)");
  EXPECT_EQ(facts.kubevirt_uid, "a&b<c>");
  // The first target of the disk itself, as string(target/@dev) has it.
  EXPECT_EQ(facts.aliases, (std::map<std::string, std::string>{{"vdb", "ua-data's"}}));
}

TEST(DomstatsXml, NotWellFormedGivesNothing) {
  auto facts = parse_domain_xml(R"(<domain><vcpu>2</vcpu><devices>
    <disk><target dev='vda'/><alias name='ua-rootdisk'/></disk></devices>)");
  EXPECT_TRUE(facts.aliases.empty());
  EXPECT_EQ(facts.vcpus.max, 0);
}

TEST(DomstatsXml, VcpuPinning) {
  auto facts = parse_domain_xml(R"(<domain>
  <vcpu placement='static' cpuset='0-3,^2' current='1'> 4 </vcpu>
  <cputune><shares>1024</shares><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='3' cpuset='0,2'/></cputune>
</domain>)");
  EXPECT_EQ(facts.vcpus.max, 4);
  EXPECT_EQ(facts.vcpus.placement, "static");
  EXPECT_EQ(facts.vcpus.cpuset, "0-3,^2");
  EXPECT_EQ(facts.vcpus.pins, (std::map<int, std::string>{{0, "1"}, {3, "0,2"}}));
  // Older libvirt wrote no placement: static.
  EXPECT_EQ(parse_domain_xml("<domain><vcpu>2</vcpu></domain>").vcpus.placement, "static");
}

TEST(DomstatsXml, Cpusets) {
  EXPECT_EQ(parse_cpuset("0-3,^2,8"), (std::vector<int>{0, 1, 3, 8}));
  EXPECT_EQ(parse_cpuset("^2,0-3"), (std::vector<int>{0, 1, 2, 3}));  // in order, as libvirt
  EXPECT_EQ(parse_cpuset(" 1 , 5"), (std::vector<int>{1, 5}));
  EXPECT_EQ(parse_cpuset("1023"), (std::vector<int>{1023}));
  for (const char* bad : {"", "1,", "3-1", "a", "1024", "-1", "^1", "1-", "0x1"})
    EXPECT_FALSE(parse_cpuset(bad)) << bad;
}

TEST(DomstatsXml, AffinityAsVirDomainGetVcpuPinInfoGivesIt) {
  HostCpus four(4, true);
  XmlVcpus v;
  v.max = 2;
  v.placement = "static";
  // Nothing pinned: every vCPU may run on every online host CPU.
  EXPECT_EQ(cpu_affinity_from_xml(v, 2, four), 8u);
  // <vcpu cpuset>, of which only the host's CPUs count.
  v.cpuset = "2-7";
  EXPECT_EQ(cpu_affinity_from_xml(v, 2, four), 4u);
  // <vcpupin> wins over it.
  v.pins = {{0, "3"}};
  EXPECT_EQ(cpu_affinity_from_xml(v, 2, four), 3u);
  // Only the vCPUs both the stats and the XML count.
  EXPECT_EQ(cpu_affinity_from_xml(v, 1, four), 1u);
  v.max = 1;
  EXPECT_EQ(cpu_affinity_from_xml(v, 2, four), 1u);
}

TEST(DomstatsXml, AffinityLeftToLibvirtWhereTheXmlCannotTell) {
  HostCpus four(4, true);
  XmlVcpus v;
  v.max = 2;
  v.placement = "auto";  // numad's cpuset is not in the XML
  EXPECT_FALSE(cpu_affinity_from_xml(v, 2, four));
  v.pins = {{0, "1"}, {1, "2-3"}};  // ...unless every vCPU is pinned
  EXPECT_EQ(cpu_affinity_from_xml(v, 2, four), 3u);
  v.pins = {{0, "1"}, {1, "x"}};
  EXPECT_FALSE(cpu_affinity_from_xml(v, 2, four));
  v.pins = {{-1, "1"}};  // a vcpu attribute that is not a number
  v.placement = "static";
  EXPECT_FALSE(cpu_affinity_from_xml(v, 2, four));

  // A CPU offline: libvirt's default would be the online ones, but a
  // cpuset naming every CPU is not written, so the XML cannot tell which.
  HostCpus one_offline{true, false, true, true};
  v.pins.clear();
  EXPECT_FALSE(cpu_affinity_from_xml(v, 2, one_offline));
  v.cpuset = "0-1";  // a written cpuset counts as it is
  EXPECT_EQ(cpu_affinity_from_xml(v, 2, one_offline), 4u);

  v.placement = "other";
  EXPECT_FALSE(cpu_affinity_from_xml(v, 2, four));
  v.placement = "static";
  EXPECT_FALSE(cpu_affinity_from_xml(v, 2, HostCpus{}));
  EXPECT_FALSE(cpu_affinity_from_xml(v, 0, four));
  EXPECT_FALSE(cpu_affinity_from_xml(XmlVcpus{}, 2, four));
}

}  // namespace
}  // namespace kv::domstats
