// The msgpack-array messages: every round trip and every validation failure
// with its exact message.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "wire/frames.hpp"
#include "wire_test_util.hpp"

namespace {

using namespace fly::wire;
using wiretest::array;
using wiretest::bin;
using wiretest::bytes;
using wiretest::payload_of;

Hello sample_hello() {
  Hello h;
  h.min_version = 1;
  h.max_version = 3;
  h.name = "a@syd-1";
  h.region = "syd";
  h.hidden = true;
  h.incarnation = 0xfedcba9876543210ULL;
  for (std::size_t i = 0; i < kNonceSize; ++i) h.nonce[i] = static_cast<std::uint8_t>(i * 7);
  h.listen_address = "[fdaa:0:1:a7b::2]:4370";
  return h;
}

// A HELLO payload with the fields given, so each test changes one.
struct HelloFields {
  int min = 1;
  int max = 1;
  std::string name = "n1";
  std::string region = "syd";
  bool hidden = false;
  std::uint64_t incarnation = 5;
  std::vector<char> nonce = bin(kNonceSize);
  std::string address = "127.0.0.1:4370";
  std::string payload() const {
    return array(min, max, name, region, hidden, incarnation, nonce, address);
  }
};

std::string hello_error(const std::string& payload) {
  Hello h;
  h.name = "untouched";
  std::string error;
  EXPECT_FALSE(decode_hello(bytes(payload), h, error));
  EXPECT_EQ(h.name, "untouched") << "a failed decode must leave the output alone";
  return error;
}

TEST(Hello, RoundTrip) {
  const Hello in = sample_hello();
  Buffer b;
  encode_hello(b, in);
  Hello out;
  std::string error;
  ASSERT_TRUE(decode_hello(bytes(payload_of(b)), out, error)) << error;
  EXPECT_EQ(out.min_version, 1);
  EXPECT_EQ(out.max_version, 3);
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.region, in.region);
  EXPECT_TRUE(out.hidden);
  EXPECT_EQ(out.incarnation, in.incarnation);
  EXPECT_EQ(out.nonce, in.nonce);
  EXPECT_EQ(out.listen_address, in.listen_address);
}

TEST(Hello, EmptyListenAddressIsAHiddenTool) {
  Hello in = sample_hello();
  in.listen_address = "";
  Buffer b;
  encode_hello(b, in);
  Hello out;
  std::string error;
  ASSERT_TRUE(decode_hello(bytes(payload_of(b)), out, error)) << error;
  EXPECT_EQ(out.listen_address, "");
}

TEST(Hello, LayoutIsTheDocumentedArray) {
  Hello in;
  in.min_version = 1;  // the documented example (PROTOCOL.md 3.1)
  in.max_version = 1;
  in.name = "a";
  in.region = "syd";
  in.incarnation = 1;
  in.listen_address = "h:1";
  Buffer b;
  encode_hello(b, in);
  std::string expected =
      "\x98\x01\x01\xa1"
      "a"
      "\xa3"
      "syd"
      "\xc2\x01\xc4\x20";
  expected += std::string(32, '\0');
  expected += "\xa3h:1";
  EXPECT_EQ(payload_of(b), expected);
}

TEST(Hello, LaterVersionsMayAppendFields) {
  HelloFields f;
  std::string p = array(1, 2, "n1", "syd", false, 5, bin(kNonceSize), "", "future", 42);
  Hello out;
  std::string error;
  EXPECT_TRUE(decode_hello(bytes(p), out, error)) << error;
  EXPECT_EQ(out.max_version, 2);
}

TEST(Hello, EveryFieldIsValidated) {
  HelloFields f;
  EXPECT_EQ(hello_error(wiretest::value("x")),
            "HELLO: expected an array of 8 to 64 fields, got string");
  EXPECT_EQ(hello_error(array(1, 1, "n", "syd", false, 5, bin(32))),
            "HELLO: expected an array of 8 to 64 fields, got array of 7");

  f = {};
  f.min = 0;
  EXPECT_EQ(hello_error(f.payload()),
            "HELLO: field 'min_version': 0 is not a protocol version (versions start at 1)");
  f = {};
  f.min = -1;
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'min_version': -1 is negative");
  f = {};
  f.max = 70000;
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'max_version': 70000 is above 65535");
  f = {};
  f.min = 3;
  f.max = 2;
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'max_version': 2 is below min_version 3");
  EXPECT_EQ(hello_error(array("1", 1, "n", "syd", false, 5, bin(32), "")),
            "HELLO: field 'min_version': expected an unsigned integer, got string");

  f = {};
  f.name = "";
  EXPECT_EQ(hello_error(f.payload()),
            "HELLO: field 'name': \"\" is not a name (1-255 printable ASCII characters, no space)");
  f.name = "a b";
  EXPECT_EQ(hello_error(f.payload()),
            "HELLO: field 'name': \"a b\" is not a name (1-255 "
            "printable ASCII characters, no space)");
  f.name = std::string("a\n\xff", 3);
  EXPECT_EQ(hello_error(f.payload()),
            "HELLO: field 'name': \"a\\x0a\\xff\" is not a name (1-255 "
            "printable ASCII characters, no space)");
  f.name = std::string(256, 'n');
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'name': 256 bytes, more than the limit of 255");
  EXPECT_EQ(hello_error(array(1, 1, 7, "syd", false, 5, bin(32), "")),
            "HELLO: field 'name': expected string, got integer");

  f = {};
  f.region = "SYD";
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'region': \"SYD\" is not a region code");
  f.region = "";
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'region': \"\" is not a region code");

  EXPECT_EQ(hello_error(array(1, 1, "n", "syd", 0, 5, bin(32), "")),
            "HELLO: field 'hidden': expected bool, got integer");
  EXPECT_EQ(hello_error(array(1, 1, "n", "syd", false, -5, bin(32), "")),
            "HELLO: field 'incarnation': -5 is negative");

  f = {};
  f.nonce = bin(31);
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'nonce': 31 bytes, expected exactly 32");
  f.nonce = bin(33);
  EXPECT_EQ(hello_error(f.payload()), "HELLO: field 'nonce': 33 bytes, expected exactly 32");
  EXPECT_EQ(hello_error(array(1, 1, "n", "syd", false, 5, std::string(32, 'x'), "")),
            "HELLO: field 'nonce': expected binary, got string");

  for (const char* bad :
       {"host", "host:", "host:0", "host:65536", "host:080", ":80", "a b:80", "[::1]", "[zz::1]:80",
        "[]:80", "[1.2.3.4]:80", "[::1%]:80", "host:+80", "h:99999"}) {
    f = {};
    f.address = bad;
    EXPECT_EQ(hello_error(f.payload()),
              "HELLO: field 'listen_address': \"" + std::string(bad) +
                  "\" is not an address (host:port or [ipv6]:port, port 1-65535)");
  }
}

TEST(Hello, MalformedMsgpackIsReportedNotThrown) {
  const std::string truncated = HelloFields{}.payload().substr(0, 20);
  EXPECT_EQ(hello_error(truncated), "HELLO: truncated msgpack value");
  EXPECT_EQ(hello_error(HelloFields{}.payload() + "\x01"),
            "HELLO: 1 trailing bytes after the value");
  EXPECT_EQ(hello_error(""), "HELLO: truncated msgpack value");
  // An array header claiming 2^32-1 elements in a few bytes.
  EXPECT_NE(hello_error(std::string("\xdd\xff\xff\xff\xff\x01", 6)).find("HELLO: "),
            std::string::npos);
}

TEST(Addresses, ValidForms) {
  for (const char* good : {"127.0.0.1:4370", "localhost:1", "my-app.internal:65535", "[::1]:80",
                           "[fdaa:0:1:a7b::2]:4370", "[fe80::1%eth0]:9", "a_b.c:443"}) {
    EXPECT_TRUE(is_valid_address(good)) << good;
  }
  EXPECT_FALSE(is_valid_address(""));
  EXPECT_FALSE(is_valid_address(std::string(250, 'a') + ":12345"));
}

TEST(Names, PrintableAsciiWithoutSpace) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("node-1@syd.fly"));
  EXPECT_TRUE(is_valid_name(std::string(255, '~')));
  EXPECT_FALSE(is_valid_name(std::string(256, 'a')));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("a b"));
  EXPECT_FALSE(is_valid_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_name("a\x7f"));
}

// ---- AUTH

TEST(Auth, RoundTrip) {
  Auth in;
  in.version = 300;
  for (std::size_t i = 0; i < kProofSize; ++i) in.proof[i] = static_cast<std::uint8_t>(255 - i);
  Buffer b;
  encode_auth(b, in);
  Auth out;
  std::string error;
  ASSERT_TRUE(decode_auth(bytes(payload_of(b)), out, error)) << error;
  EXPECT_EQ(out.version, 300);
  EXPECT_EQ(out.proof, in.proof);
}

TEST(Auth, Validation) {
  Auth out;
  std::string error;
  EXPECT_FALSE(decode_auth(bytes(array(1, bin(31))), out, error));
  EXPECT_EQ(error, "AUTH: field 'proof': 31 bytes, expected exactly 32");
  EXPECT_FALSE(decode_auth(bytes(array(0, bin(32))), out, error));
  EXPECT_EQ(error, "AUTH: field 'version': 0 is not a protocol version (versions start at 1)");
  EXPECT_FALSE(decode_auth(bytes(array(1, bin(32), 1)), out, error));
  EXPECT_EQ(error, "AUTH: expected an array of 2 fields, got array of 3");
  EXPECT_FALSE(decode_auth(bytes(array(1, "p")), out, error));
  EXPECT_EQ(error, "AUTH: field 'proof': expected binary, got string");
}

// ---- REFUSE

TEST(Refuse, RoundTripEveryReason) {
  for (int r = 1; r <= 8; ++r) {
    Refuse in{static_cast<RefuseReason>(r), "because " + std::to_string(r)};
    Buffer b;
    encode_refuse(b, in);
    Refuse out;
    std::string error;
    ASSERT_TRUE(decode_refuse(bytes(payload_of(b)), out, error)) << error;
    EXPECT_EQ(out.reason, in.reason);
    EXPECT_EQ(out.message, in.message);
  }
  EXPECT_EQ(static_cast<int>(RefuseReason::bad_cookie), 1);
  EXPECT_EQ(static_cast<int>(RefuseReason::busy), 8);
  EXPECT_EQ(static_cast<int>(RefuseReason::replaced), 9);
}

TEST(Refuse, EncoderKeepsTheMessageDecodable) {
  // Too long and multi-line: cut to 1024 bytes at a character boundary, one line.
  std::string message = "line1\nline2 ";
  while (message.size() < 2000) message += "\xc3\xa9";  // é
  Buffer b;
  encode_refuse(b, Refuse{RefuseReason::protocol, message});
  Refuse out;
  std::string error;
  ASSERT_TRUE(decode_refuse(bytes(payload_of(b)), out, error)) << error;
  EXPECT_LE(out.message.size(), kMaxMessageSize);
  EXPECT_GE(out.message.size(), kMaxMessageSize - 1);
  EXPECT_EQ(out.message.substr(0, 12), "line1 line2 ");
  EXPECT_EQ(out.message.back(), '\xa9');  // ends on a whole é
}

TEST(Refuse, Validation) {
  Refuse out;
  std::string error;
  EXPECT_FALSE(decode_refuse(bytes(array(0, "m")), out, error));
  EXPECT_EQ(error, "REFUSE: field 'reason': 0 is not a refuse reason (1-9)");
  EXPECT_FALSE(decode_refuse(bytes(array(10, "m")), out, error));
  EXPECT_EQ(error, "REFUSE: field 'reason': 10 is not a refuse reason (1-9)");
  EXPECT_FALSE(decode_refuse(bytes(array(300, "m")), out, error));
  EXPECT_EQ(error, "REFUSE: field 'reason': 300 is above 255");
  EXPECT_FALSE(decode_refuse(bytes(array(1, std::string(1025, 'm'))), out, error));
  EXPECT_EQ(error, "REFUSE: field 'message': 1025 bytes, more than the limit of 1024");
  EXPECT_FALSE(decode_refuse(bytes(array(1, "two\nlines")), out, error));
  EXPECT_EQ(error, "REFUSE: field 'message': \"two\\x0alines\" contains control characters");
  EXPECT_FALSE(decode_refuse(bytes(array(1)), out, error));
  EXPECT_EQ(error, "REFUSE: expected an array of 2 fields, got array of 1");
}

// ---- ANNOUNCE

TEST(Announce, RoundTrip) {
  Announce in;
  in.generation = 1ULL << 40;
  in.functions = {{"String.upcase", "String.upcase(string) -> string"},
                  {"Kernel.+", "Kernel.+(int, int) -> int"}};
  Buffer b;
  encode_announce(b, in);
  Announce out;
  std::string error;
  ASSERT_TRUE(decode_announce(bytes(payload_of(b)), out, error)) << error;
  EXPECT_EQ(out.generation, in.generation);
  ASSERT_EQ(out.functions.size(), 2u);
  EXPECT_EQ(out.functions[1].name, "Kernel.+");
  EXPECT_EQ(out.functions[1].signature, "Kernel.+(int, int) -> int");

  Buffer empty;
  encode_announce(empty, Announce{});
  ASSERT_TRUE(decode_announce(bytes(payload_of(empty)), out, error)) << error;
  EXPECT_TRUE(out.functions.empty());
  EXPECT_EQ(out.generation, 0u);
}

TEST(Announce, LongSignatureIsCutByTheEncoder) {
  Announce in;
  in.functions = {{"F.g", "F.g(" + std::string(5000, 'x') + ")"}};
  Buffer b;
  encode_announce(b, in);
  Announce out;
  std::string error;
  ASSERT_TRUE(decode_announce(bytes(payload_of(b)), out, error)) << error;
  EXPECT_EQ(out.functions[0].signature.size(), kMaxSignatureSize);
}

TEST(Announce, Validation) {
  Announce out;
  std::string error;
  EXPECT_FALSE(decode_announce(bytes(array(1, "nope")), out, error));
  EXPECT_EQ(error, "ANNOUNCE: field 'functions': expected an array, got string");
  const std::vector<std::tuple<std::string, std::string>> two = {{"A.b", "A.b()"},
                                                                 {"bad name", "x"}};
  EXPECT_FALSE(decode_announce(bytes(array(1, two)), out, error));
  EXPECT_EQ(error,
            "ANNOUNCE: function 1: field 'name': \"bad name\" is not a name (1-255 "
            "printable ASCII characters, no space)");
  const std::vector<std::tuple<std::string>> short_item = {{"A.b"}};
  EXPECT_FALSE(decode_announce(bytes(array(1, short_item)), out, error));
  EXPECT_EQ(error, "ANNOUNCE: function 0: expected an array of 2 fields, got array of 1");
  const std::vector<std::tuple<std::string, std::string>> ctl = {{"A.b", "A\tb"}};
  EXPECT_FALSE(decode_announce(bytes(array(1, ctl)), out, error));
  EXPECT_EQ(error,
            "ANNOUNCE: function 0: field 'signature': \"A\\x09b\" contains control characters");
  const std::vector<std::tuple<std::string, std::string>> many(kMaxFunctions + 1, {"A.b", ""});
  EXPECT_FALSE(decode_announce(bytes(array(1, many)), out, error));
  EXPECT_EQ(error, "ANNOUNCE: field 'functions': 10001 functions, more than the limit of 10000");
  EXPECT_FALSE(decode_announce(bytes(array(-1, two)), out, error));
  EXPECT_EQ(error, "ANNOUNCE: field 'generation': -1 is negative");
}

// ---- PEERS

TEST(Peers, RoundTrip) {
  const std::vector<PeerInfo> in = {{"a", "syd", "10.0.0.1:4370"}, {"b", "lax", "[fdaa::3]:4370"}};
  Buffer b;
  encode_peers(b, in);
  std::vector<PeerInfo> out;
  std::string error;
  ASSERT_TRUE(decode_peers(bytes(payload_of(b)), out, error)) << error;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].name, "b");
  EXPECT_EQ(out[1].region, "lax");
  EXPECT_EQ(out[1].address, "[fdaa::3]:4370");

  Buffer empty;
  encode_peers(empty, {});
  ASSERT_TRUE(decode_peers(bytes(payload_of(empty)), out, error)) << error;
  EXPECT_TRUE(out.empty());
}

TEST(Peers, Validation) {
  using P = std::tuple<std::string, std::string, std::string>;
  std::vector<PeerInfo> out;
  std::string error;
  EXPECT_FALSE(
      decode_peers(bytes(wiretest::value(std::vector<P>{{"a", "Syd", "h:1"}})), out, error));
  EXPECT_EQ(error, "PEERS: peer 0: field 'region': \"Syd\" is not a region code");
  EXPECT_FALSE(decode_peers(
      bytes(wiretest::value(std::vector<P>{{"a", "syd", "h:1"}, {"b", "syd", ""}})), out, error));
  EXPECT_EQ(error,
            "PEERS: peer 1: field 'address': \"\" is not an address (host:port or "
            "[ipv6]:port, port 1-65535)");
  EXPECT_FALSE(decode_peers(bytes(wiretest::value(1)), out, error));
  EXPECT_EQ(error, "PEERS: expected an array of peers, got integer");
  EXPECT_FALSE(decode_peers(
      bytes(wiretest::value(std::vector<P>(kMaxPeers + 1, {"a", "s", "h:1"}))), out, error));
  EXPECT_EQ(error, "PEERS: 10001 peers, more than the limit of 10000");
}

// ---- GOODBYE, ACTIVATE, PING

TEST(Goodbye, RoundTripAndValidation) {
  Buffer b;
  encode_goodbye(b, "deploy v42");
  std::string reason, error;
  ASSERT_TRUE(decode_goodbye(bytes(payload_of(b)), reason, error)) << error;
  EXPECT_EQ(reason, "deploy v42");
  EXPECT_FALSE(decode_goodbye(bytes(array("a", "b")), reason, error));
  EXPECT_EQ(error, "GOODBYE: expected an array of 1 fields, got array of 2");
  EXPECT_FALSE(decode_goodbye(bytes(array(std::string(1025, 'r'))), reason, error));
  EXPECT_EQ(error, "GOODBYE: field 'reason': 1025 bytes, more than the limit of 1024");
  EXPECT_EQ(reason, "deploy v42");
}

TEST(EmptyFrames, ActivateAndPing) {
  Buffer b;
  encode_activate(b);
  EXPECT_EQ(std::string(b.data(), b.size()), std::string("\x00\x00\x00\x01\x05", 5));
  b.clear();
  encode_ping(b);
  EXPECT_EQ(std::string(b.data(), b.size()), std::string("\x00\x00\x00\x01\x08", 5));
  std::string error;
  EXPECT_TRUE(decode_activate({}, error));
  EXPECT_TRUE(decode_ping({}, error));
  EXPECT_FALSE(decode_activate(bytes("xyz"), error));
  EXPECT_EQ(error, "ACTIVATE: payload must be empty, got 3 bytes");
  EXPECT_FALSE(decode_ping(bytes("x"), error));
  EXPECT_EQ(error, "PING: payload must be empty, got 1 bytes");
}

}  // namespace
