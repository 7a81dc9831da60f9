// The request-head parser on its own: complete, incomplete, bad, and bad
// detected early (before the head is complete).
#include "telemetry/http_request.hpp"

#include <gtest/gtest.h>

namespace {

using fly::telemetry::parse_request_head;
using fly::telemetry::RequestParse;

TEST(HttpRequest, ParsesAGoodHead) {
  const std::string req =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: Prometheus/2.42.0\r\n"
      "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n\r\n";
  const auto r = parse_request_head(req, 8192);
  ASSERT_EQ(r.status, RequestParse::complete) << r.error;
  EXPECT_EQ(r.head.method, "GET");
  EXPECT_EQ(r.head.target, "/metrics?x=1");
  EXPECT_EQ(r.head.path(), "/metrics");
  EXPECT_EQ(r.head.version, "HTTP/1.1");

  const auto lf = parse_request_head("GET / HTTP/1.0\nHost: a\n\n", 8192);  // bare LF
  ASSERT_EQ(lf.status, RequestParse::complete) << lf.error;
  EXPECT_EQ(lf.head.version, "HTTP/1.0");
}

TEST(HttpRequest, EveryPrefixOfAGoodHeadIsIncomplete) {
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  for (std::size_t n = 0; n < req.size(); ++n) {
    const auto r = parse_request_head(req.substr(0, n), 8192);
    EXPECT_EQ(r.status, RequestParse::incomplete) << n << ": " << r.error;
  }
}

TEST(HttpRequest, GarbageIsBadBeforeTheHeadEnds) {
  for (const std::string prefix : {"\x16\x03", "GET\t", "GET /a\x01", "GET /m HTTP/2", "G\r",
                                   "GET x", "GET /m HTTP/1.1\r\nX\r\n", "TOOLONGMETHODNAMEX"}) {
    const auto r = parse_request_head(prefix, 8192);
    EXPECT_EQ(r.status, RequestParse::bad) << testing::PrintToString(prefix);
    EXPECT_FALSE(r.error.empty());
  }
}

TEST(HttpRequest, HeadOverTheLimitIsBad) {
  std::string req = "GET /metrics HTTP/1.1\r\n";
  req += "X-Big: " + std::string(200, 'a') + "\r\n";
  const auto r = parse_request_head(req, 64);
  EXPECT_EQ(r.status, RequestParse::bad);
  EXPECT_NE(r.error.find("larger than 64 bytes"), std::string::npos) << r.error;
  // Exactly at the limit with the final empty line is still fine.
  const std::string exact = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parse_request_head(exact, exact.size()).status, RequestParse::complete);
  EXPECT_EQ(parse_request_head(exact, exact.size() - 1).status, RequestParse::bad);
}

}  // namespace
