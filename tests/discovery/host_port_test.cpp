// Host/port settings: every accepted form, and every refusal naming the
// setting with a reason a user can act on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "discovery/host_port.hpp"
#include "fly/errors.hpp"

namespace {

using fly::ConfigError;
using fly::discovery::HostPort;
using fly::discovery::parse_dns_name;
using fly::discovery::parse_dns_server;
using fly::discovery::parse_host_list;
using fly::discovery::parse_host_port;
using ::testing::HasSubstr;

// The ConfigError thrown by `f`, or fails the test.
template <typename F>
ConfigError config_error(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return ConfigError("", "", "");
}

// Asserts parse_host_port refuses `text`, naming the setting, and returns the message.
std::string refused(std::string_view text, std::uint16_t default_port = 0) {
  ConfigError e = config_error([&] { parse_host_port("FLY_RPC_SEEDS", text, default_port); });
  EXPECT_EQ(e.setting(), "FLY_RPC_SEEDS");
  EXPECT_EQ(e.value(), text);
  EXPECT_EQ(e.code(), fly::Errc::config);
  EXPECT_THAT(e.what(), HasSubstr("FLY_RPC_SEEDS"));
  return e.what();
}

TEST(ParseHostPort, Ipv4WithPort) {
  EXPECT_EQ(parse_host_port("S", "10.0.0.1:4369", 0), (HostPort{"10.0.0.1", 4369}));
  EXPECT_EQ(parse_host_port("S", "127.0.0.1:1", 0), (HostPort{"127.0.0.1", 1}));
  EXPECT_EQ(parse_host_port("S", "127.0.0.1:65535", 0), (HostPort{"127.0.0.1", 65535}));
}

TEST(ParseHostPort, Ipv6InBrackets) {
  EXPECT_EQ(parse_host_port("S", "[fdaa::3]:53", 0), (HostPort{"fdaa::3", 53}));
  EXPECT_EQ(parse_host_port("S", "[::1]:4369", 0), (HostPort{"::1", 4369}));
  // Canonical form, so the same address written two ways compares equal.
  EXPECT_EQ(parse_host_port("S", "[FDAA:0:0::1]:7", 0), (HostPort{"fdaa::1", 7}));
}

TEST(ParseHostPort, NamesAreLowerCasedWithoutTrailingDot) {
  EXPECT_EQ(parse_host_port("S", "MyApp.internal:4369", 0), (HostPort{"myapp.internal", 4369}));
  EXPECT_EQ(parse_host_port("S", "top1.nearest.of.myapp.internal.:80", 0),
            (HostPort{"top1.nearest.of.myapp.internal", 80}));
  EXPECT_EQ(parse_host_port("S", "localhost:9", 0), (HostPort{"localhost", 9}));
  EXPECT_EQ(parse_host_port("S", "_srv-x.example:9", 0), (HostPort{"_srv-x.example", 9}));
}

TEST(ParseHostPort, BareHostTakesDefaultPort) {
  EXPECT_EQ(parse_host_port("S", "10.0.0.1", 4369), (HostPort{"10.0.0.1", 4369}));
  EXPECT_EQ(parse_host_port("S", "[fdaa::3]", 53), (HostPort{"fdaa::3", 53}));
  EXPECT_EQ(parse_host_port("S", "app.internal", 7000), (HostPort{"app.internal", 7000}));
  // An explicit port wins over the default.
  EXPECT_EQ(parse_host_port("S", "10.0.0.1:1234", 4369), (HostPort{"10.0.0.1", 1234}));
}

TEST(ParseHostPort, SurroundingBlanksAreIgnored) {
  EXPECT_EQ(parse_host_port("S", "  10.0.0.1:5 \t", 0), (HostPort{"10.0.0.1", 5}));
}

TEST(ParseHostPort, UnambiguousUnbracketedIpv6IsABareHost) {
  EXPECT_EQ(parse_host_port("S", "fdaa::3", 53), (HostPort{"fdaa::3", 53}));
  EXPECT_EQ(parse_host_port("S", "::1", 53), (HostPort{"::1", 53}));
  EXPECT_EQ(parse_host_port("S", "2001:db8:0:0:0:0:0:1", 53), (HostPort{"2001:db8::1", 53}));
}

TEST(ParseHostPort, RefusesEmpty) {
  EXPECT_THAT(refused(""), HasSubstr("is empty"));
  EXPECT_THAT(refused("   "), HasSubstr("is empty"));
}

TEST(ParseHostPort, RefusesBadPorts) {
  EXPECT_THAT(refused("10.0.0.1:0"), HasSubstr("port 0 is out of range (1-65535)"));
  EXPECT_THAT(refused("10.0.0.1:65536"), HasSubstr("port 65536 is out of range"));
  EXPECT_THAT(refused("10.0.0.1:abc"), HasSubstr("port \"abc\" is not a number"));
  EXPECT_THAT(refused("10.0.0.1:-1"), HasSubstr("is not a number"));
  EXPECT_THAT(refused("10.0.0.1:+80"), HasSubstr("is not a number"));
  EXPECT_THAT(refused("10.0.0.1:99999999999999999999"), HasSubstr("is not a number"));
  EXPECT_THAT(refused("10.0.0.1:"), HasSubstr("missing port after ':'"));
  EXPECT_THAT(refused("[::1]:0"), HasSubstr("out of range"));
  EXPECT_THAT(refused("[::1]:"), HasSubstr("missing port"));
}

TEST(ParseHostPort, RefusesMissingPortWhenRequired) {
  EXPECT_THAT(refused("10.0.0.1", 0), HasSubstr("a port is required (e.g. \"10.0.0.1:4369\")"));
  EXPECT_THAT(refused("[fdaa::3]", 0), HasSubstr("a port is required (e.g. \"[fdaa::3]:4369\")"));
  EXPECT_THAT(refused("fdaa::3", 0), HasSubstr("a port is required"));
}

TEST(ParseHostPort, RefusesMissingHost) {
  EXPECT_THAT(refused(":4369"), HasSubstr("missing host before ':'"));
}

TEST(ParseHostPort, RefusesUnbalancedBrackets) {
  EXPECT_THAT(refused("[fdaa::3:53"), HasSubstr("unbalanced '['"));
  EXPECT_THAT(refused("[fdaa::3"), HasSubstr("unbalanced '['"));
  EXPECT_THAT(refused("fdaa::3]:53"), HasSubstr("unbalanced ']'"));
  EXPECT_THAT(refused("[fdaa::3]x53"), HasSubstr("unexpected \"x53\" after ']'"));
}

TEST(ParseHostPort, RefusesNonIpv6InBrackets) {
  EXPECT_THAT(refused("[10.0.0.1]:53"), HasSubstr("is not a valid IPv6 address"));
  EXPECT_THAT(refused("[app.internal]:53"), HasSubstr("is not a valid IPv6 address"));
  EXPECT_THAT(refused("[]:53"), HasSubstr("is not a valid IPv6 address"));
}

TEST(ParseHostPort, RefusesAmbiguousUnbracketedIpv6WithPort) {
  std::string why = refused("fdaa::1:4369", 4369);
  EXPECT_THAT(why, HasSubstr("ambiguous"));
  EXPECT_THAT(why, HasSubstr("\"[fdaa::1]:4369\" for a port"));
  EXPECT_THAT(why, HasSubstr("\"[fdaa::1:4369]\" for the address alone"));
  EXPECT_THAT(refused("::1:53", 53), HasSubstr("ambiguous"));
}

TEST(ParseHostPort, RefusesGarbageWithColons) {
  EXPECT_THAT(refused("a:b:c"), HasSubstr("written \"[fdaa::1]:4369\""));
}

TEST(ParseHostPort, RefusesZoneIds) {
  EXPECT_THAT(refused("[fe80::1%eth0]:53"), HasSubstr("zone ids"));
  EXPECT_THAT(refused("fe80::1%eth0", 53), HasSubstr("zone ids"));
}

TEST(ParseHostPort, RefusesBadHosts) {
  EXPECT_THAT(refused("10.0.0.256:1"), HasSubstr("\"10.0.0.256\" is not a valid IPv4 address"));
  EXPECT_THAT(refused("1.2.3:1"), HasSubstr("is not a valid IPv4 address"));
  EXPECT_THAT(refused("my app:1"), HasSubstr("neither an IP address nor a valid DNS name"));
  EXPECT_THAT(refused("-app.internal:1"), HasSubstr("valid DNS name"));
  EXPECT_THAT(refused("app..internal:1"), HasSubstr("valid DNS name"));
  EXPECT_THAT(refused(std::string(64, 'a') + ".internal:1"), HasSubstr("valid DNS name"));
  EXPECT_THAT(refused("http://app:1"), HasSubstr("[fdaa::1]"));  // two colons: not host:port
}

TEST(HostPort, ToStringBracketsIpv6) {
  EXPECT_EQ((HostPort{"10.0.0.1", 4369}).to_string(), "10.0.0.1:4369");
  EXPECT_EQ((HostPort{"fdaa::3", 53}).to_string(), "[fdaa::3]:53");
  EXPECT_EQ((HostPort{"app.internal", 1}).to_string(), "app.internal:1");
}

TEST(ParseHostList, ParsesEntriesWithBlanksAndDefaults) {
  auto list = parse_host_list("FLY_RPC_SEEDS", " 10.0.0.1:1 , [fdaa::2]:2,app.internal ", 4369);
  EXPECT_EQ(list, (std::vector<HostPort>{{"10.0.0.1", 1}, {"fdaa::2", 2}, {"app.internal", 4369}}));
}

TEST(ParseHostList, RemovesDuplicatesKeepingOrder) {
  auto list =
      parse_host_list("S", "b.internal:1,a.internal:1,B.internal:1,[FDAA::1]:2,[fdaa::1]:2", 0);
  EXPECT_EQ(list, (std::vector<HostPort>{{"b.internal", 1}, {"a.internal", 1}, {"fdaa::1", 2}}));
}

TEST(ParseHostList, SingleEntry) {
  EXPECT_EQ(parse_host_list("S", "10.0.0.1:1", 0), (std::vector<HostPort>{{"10.0.0.1", 1}}));
}

TEST(ParseHostList, RefusesEmptyListAndEmptyEntries) {
  for (std::string_view text : {"", "  ", "a.internal:1,,b.internal:1", ",a.internal:1",
                                "a.internal:1,", "a.internal:1, ,b.internal:1"}) {
    ConfigError e = config_error([&] { parse_host_list("FLY_RPC_SEEDS", text, 0); });
    EXPECT_EQ(e.setting(), "FLY_RPC_SEEDS") << text;
    EXPECT_EQ(e.value(), text);
    EXPECT_THAT(e.what(), HasSubstr("empty")) << text;
  }
  ConfigError e = config_error([] { parse_host_list("S", "a.internal:1,,b:1", 0); });
  EXPECT_THAT(e.what(), HasSubstr("entry 2 is empty"));
}

TEST(ParseHostList, ErrorNamesTheBadEntry) {
  ConfigError e = config_error([] { parse_host_list("FLY_RPC_SEEDS", "a:1, b:0 ,c:3", 0); });
  EXPECT_EQ(e.setting(), "FLY_RPC_SEEDS");
  EXPECT_EQ(e.value(), "a:1, b:0 ,c:3");
  EXPECT_THAT(e.what(), HasSubstr("entry 2 (\"b:0\"): port 0 is out of range"));
  ConfigError missing = config_error([] { parse_host_list("S", "a:1,b", 0); });
  EXPECT_THAT(missing.what(), HasSubstr("entry 2 (\"b\"): a port is required"));
}

TEST(ParseDnsServer, AddressesWithDefaultPort53) {
  EXPECT_EQ(parse_dns_server("FLY_RPC_DNS_SERVER", "fdaa::3"), (HostPort{"fdaa::3", 53}));
  EXPECT_EQ(parse_dns_server("FLY_RPC_DNS_SERVER", "[fdaa::3]:5353"), (HostPort{"fdaa::3", 5353}));
  EXPECT_EQ(parse_dns_server("FLY_RPC_DNS_SERVER", "127.0.0.1:5353"),
            (HostPort{"127.0.0.1", 5353}));
}

TEST(ParseDnsServer, RefusesNames) {
  ConfigError e = config_error([] { parse_dns_server("FLY_RPC_DNS_SERVER", "dns.google"); });
  EXPECT_EQ(e.setting(), "FLY_RPC_DNS_SERVER");
  EXPECT_THAT(e.what(), HasSubstr("is not an IP address"));
  ConfigError port = config_error([] { parse_dns_server("FLY_RPC_DNS_SERVER", "1.1.1.1:0"); });
  EXPECT_THAT(port.what(), HasSubstr("out of range"));
}

TEST(ParseDnsName, CanonicalisesAndRefuses) {
  EXPECT_EQ(parse_dns_name("FLY_RPC_DNS_NAME", " MyApp.Internal. "), "myapp.internal");
  EXPECT_EQ(parse_dns_name("FLY_RPC_DNS_NAME", "localhost"), "localhost");
  for (std::string_view bad :
       {"", ".", "a..b", "my app.internal", "app.internal:53", "-x.internal"}) {
    ConfigError e = config_error([&] { parse_dns_name("FLY_RPC_DNS_NAME", bad); });
    EXPECT_EQ(e.setting(), "FLY_RPC_DNS_NAME") << bad;
    EXPECT_THAT(e.what(), HasSubstr("FLY_RPC_DNS_NAME")) << bad;
  }
}

}  // namespace
