// FLY_RPC_METRICS / --metrics values: what parses, and what each mistake says.
#include "telemetry/metrics_address.hpp"

#include <gtest/gtest.h>

#include "fly/errors.hpp"

namespace {

using fly::telemetry::parse_metrics_address;

TEST(MetricsAddress, ParsesIpv4Ipv6AndLocalhost) {
  auto ep = parse_metrics_address("0.0.0.0:9091");
  EXPECT_EQ(ep.address().to_string(), "0.0.0.0");
  EXPECT_EQ(ep.port(), 9091);

  ep = parse_metrics_address("127.0.0.1:0");
  EXPECT_TRUE(ep.address().is_loopback());
  EXPECT_EQ(ep.port(), 0);

  ep = parse_metrics_address("[::]:9091");
  EXPECT_TRUE(ep.address().is_v6());
  EXPECT_TRUE(ep.address().is_unspecified());
  EXPECT_EQ(ep.port(), 9091);

  ep = parse_metrics_address("[fdaa:0:1::3]:65535");
  EXPECT_EQ(ep.address().to_string(), "fdaa:0:1::3");
  EXPECT_EQ(ep.port(), 65535);

  ep = parse_metrics_address("localhost:9091");
  EXPECT_EQ(ep.address().to_string(), "127.0.0.1");
}

TEST(MetricsAddress, RoundTripsThroughToString) {
  for (const char* s : {"0.0.0.0:9091", "[::1]:80", "[fdaa::3]:9091"}) {
    EXPECT_EQ(fly::telemetry::to_string(parse_metrics_address(s)), s);
  }
}

// Each bad value fails with a ConfigError naming the setting, the value, and
// a reason containing `why`.
void expect_bad(const std::string& value, const std::string& why) {
  try {
    parse_metrics_address(value, "--metrics");
    ADD_FAILURE() << "accepted \"" << value << "\"";
  } catch (const fly::ConfigError& e) {
    EXPECT_EQ(e.setting(), "--metrics");
    EXPECT_EQ(e.value(), value);
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos)
        << "for \"" << value << "\": " << e.what();
  }
}

TEST(MetricsAddress, RejectsBadValuesWithAClearReason) {
  expect_bad("", "empty");
  expect_bad("9091", "expected HOST:PORT");
  expect_bad(":9091", "missing host");
  expect_bad("0.0.0.0:", "missing port");
  expect_bad("0.0.0.0:http", "not a number from 0 to 65535");
  expect_bad("0.0.0.0:65536", "not a number from 0 to 65535");
  expect_bad("0.0.0.0:-1", "not a number from 0 to 65535");
  expect_bad("0.0.0.0:0009091", "not a number from 0 to 65535");
  expect_bad("::1:9091", "must be in brackets");
  expect_bad("[::1]9091", "missing \":PORT\"");
  expect_bad("[::1:9091", "missing ']'");
  expect_bad("[1.2.3.4]:9091", "not an IPv6 address");
  expect_bad("example.com:9091", "not an IPv4 address");
  expect_bad("256.0.0.1:9091", "not an IPv4 address");
  expect_bad("0.0.0.0 :9091", "space");
  expect_bad("0.0.0.0:9091\n", "non-printable");
}

TEST(MetricsAddress, DefaultSettingNameIsTheEnvironmentVariable) {
  try {
    parse_metrics_address("nope");
    FAIL();
  } catch (const fly::ConfigError& e) {
    EXPECT_EQ(e.setting(), "FLY_RPC_METRICS");
    EXPECT_NE(std::string(e.what()).find("FLY_RPC_METRICS=\"nope\""), std::string::npos)
        << e.what();
  }
}

}  // namespace
