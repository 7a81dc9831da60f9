// The handshake machine: two machines talking, wrong cookies, versions,
// replayed and reflected proofs, frames out of order.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "wire/handshake.hpp"
#include "wire_test_util.hpp"

namespace {

using namespace fly::wire;
using Step = Handshake::Step;
using wiretest::bytes;

Hello hello_for(const std::string& name, const std::string& region = "syd") {
  Hello h;
  h.name = name;
  h.region = region;
  h.incarnation = make_incarnation();
  h.listen_address = "127.0.0.1:4370";
  return h;
}

// One side of a connection: its machine and what it has sent.
struct Side {
  Side(const std::string& cookie, Hello hello) : hs(cookie, std::move(hello)) {}
  Handshake hs;
  Buffer outbox;
  std::vector<wiretest::Frame> sent;  // every frame it sent, in order
};

// Delivers everything `from` has queued to `to`, frame by frame.
void deliver(Side& from, Side& to) {
  Buffer queued;
  queued.swap(from.outbox);
  for (const wiretest::Frame& f : wiretest::split_frames(queued.view())) {
    from.sent.push_back(f);
    FrameView view{f.type, bytes(f.payload), kHeaderSize + f.payload.size()};
    to.hs.on_frame(view, to.outbox);
  }
}

// Runs both machines until neither has anything left to send.
void converse(Side& a, Side& b) {
  a.hs.start(a.outbox);
  b.hs.start(b.outbox);
  for (int round = 0; round < 10 && (!a.outbox.empty() || !b.outbox.empty()); ++round) {
    deliver(a, b);
    deliver(b, a);
  }
  ASSERT_TRUE(a.outbox.empty() && b.outbox.empty()) << "the conversation never ended";
}

Step feed(Handshake& hs, FrameType type, const std::string& payload, Buffer& out) {
  FrameView view{type, bytes(payload), kHeaderSize + payload.size()};
  return hs.on_frame(view, out);
}

std::optional<Refuse> refuse_in(const std::vector<wiretest::Frame>& frames) {
  for (const auto& f : frames) {
    if (f.type != FrameType::refuse) continue;
    Refuse r;
    std::string error;
    EXPECT_TRUE(decode_refuse(bytes(f.payload), r, error)) << error;
    return r;
  }
  return std::nullopt;
}

std::optional<Refuse> refuse_in(const Buffer& out) {
  return refuse_in(wiretest::split_frames(out.view()));
}

std::string hello_payload(const Hello& h) {
  Buffer b;
  encode_hello(b, h);
  return wiretest::payload_of(b);
}

TEST(Handshake, SameCookieAuthenticatesBothSides) {
  Side a("s3cret", hello_for("a", "syd"));
  Hello hb = hello_for("b", "lax");
  hb.hidden = true;
  hb.listen_address = "";
  const std::uint64_t b_incarnation = hb.incarnation;
  Side b("s3cret", hb);
  converse(a, b);
  EXPECT_EQ(a.hs.step(), Step::authenticated) << a.hs.failure_message();
  EXPECT_EQ(b.hs.step(), Step::authenticated) << b.hs.failure_message();
  EXPECT_EQ(a.hs.version(), kMaxVersion);
  EXPECT_EQ(b.hs.version(), kMaxVersion);
  ASSERT_TRUE(a.hs.has_peer_hello());
  EXPECT_EQ(a.hs.peer().name, "b");
  EXPECT_EQ(a.hs.peer().region, "lax");
  EXPECT_TRUE(a.hs.peer().hidden);
  EXPECT_EQ(a.hs.peer().incarnation, b_incarnation);
  EXPECT_EQ(b.hs.peer().name, "a");
  EXPECT_EQ(b.hs.peer().listen_address, "127.0.0.1:4370");
  EXPECT_NE(a.hs.peer().nonce, b.hs.peer().nonce);  // fresh nonce per machine
  // Exactly HELLO then AUTH each way.
  ASSERT_EQ(a.sent.size(), 2u);
  EXPECT_EQ(a.sent[0].type, FrameType::hello);
  EXPECT_EQ(a.sent[1].type, FrameType::auth);
  ASSERT_EQ(b.sent.size(), 2u);
}

TEST(Handshake, BothAgreeOnTheHighestCommonVersion) {
  Hello ha = hello_for("a");
  ha.min_version = 1;
  ha.max_version = 3;
  Hello hb = hello_for("b");
  hb.min_version = 2;
  hb.max_version = 5;
  EXPECT_EQ(negotiate_version(ha, hb), 3);
  EXPECT_EQ(negotiate_version(hb, ha), 3);
  Side a("c", ha);
  Side b("c", hb);
  converse(a, b);
  ASSERT_EQ(a.hs.step(), Step::authenticated) << a.hs.failure_message();
  ASSERT_EQ(b.hs.step(), Step::authenticated) << b.hs.failure_message();
  EXPECT_EQ(a.hs.version(), 3);
  EXPECT_EQ(b.hs.version(), 3);
  hb.min_version = 4;
  EXPECT_EQ(negotiate_version(ha, hb), 0);
}

TEST(Handshake, WrongCookieFailsBothSidesWithBadCookie) {
  Side a("cookie-one", hello_for("a"));
  Side b("cookie-two", hello_for("b"));
  converse(a, b);
  for (Side* s : {&a, &b}) {
    EXPECT_EQ(s->hs.step(), Step::failed);
    EXPECT_EQ(s->hs.failure_reason(), RefuseReason::bad_cookie);
    EXPECT_FALSE(s->hs.peer_refused());  // each side found out for itself
    EXPECT_EQ(s->hs.failure_message(),
              "the peer's cookie proof is wrong: the two nodes do not share a cookie (check "
              "FLY_RPC_COOKIE), or the handshake was replayed or forged");
    const auto refuse = refuse_in(s->sent);
    ASSERT_TRUE(refuse.has_value()) << "the verifier must send REFUSE";
    EXPECT_EQ(refuse->reason, RefuseReason::bad_cookie);
  }
}

TEST(Handshake, NoCommonVersionIsRefusedWithVersion) {
  Hello hb = hello_for("b");
  hb.min_version = 3;
  hb.max_version = 3;
  Side a("c", hello_for("a"));
  Side b("c", hb);
  converse(a, b);
  for (Side* s : {&a, &b}) {
    EXPECT_EQ(s->hs.step(), Step::failed);
    EXPECT_EQ(s->hs.failure_reason(), RefuseReason::version);
    const auto refuse = refuse_in(s->sent);
    ASSERT_TRUE(refuse.has_value());
    EXPECT_EQ(refuse->reason, RefuseReason::version);
  }
  EXPECT_EQ(a.hs.failure_message(),
            "no common protocol version: this node speaks 1-2, the peer speaks 3-3");
  EXPECT_TRUE(a.hs.has_peer_hello());  // who refused is known, for the log
  EXPECT_EQ(a.hs.peer().name, "b");
}

TEST(Handshake, AFutureHelloThisVersionCannotReadStillNegotiates) {
  // A later version kept the first three fields but changed what follows.
  Side a("c", hello_for("a"));
  a.hs.start(a.outbox);
  const std::string future = wiretest::array(3, 4, "b", 12345, "new-field");
  EXPECT_EQ(feed(a.hs, FrameType::hello, future, a.outbox), Step::failed);
  EXPECT_EQ(a.hs.failure_reason(), RefuseReason::version);
  EXPECT_EQ(a.hs.failure_message(),
            "no common protocol version: this node speaks 1-2, the peer speaks 3-4");
  // But if the ranges overlap, an unreadable HELLO is a protocol error.
  Side c("c", hello_for("c"));
  EXPECT_EQ(feed(c.hs, FrameType::hello, wiretest::array(1, 4, "b", 12345), c.outbox),
            Step::failed);
  EXPECT_EQ(c.hs.failure_reason(), RefuseReason::protocol);
  EXPECT_EQ(c.hs.failure_message(), "HELLO: expected an array of 8 to 64 fields, got array of 4");
}

TEST(Handshake, ARecordedAuthIsUselessInANewSession) {
  // Session 1: a1 and b talk; an eavesdropper records b's HELLO and AUTH.
  Side a1("shared", hello_for("a"));
  Side b("shared", hello_for("b"));
  converse(a1, b);
  ASSERT_EQ(a1.hs.step(), Step::authenticated);
  ASSERT_EQ(b.sent.size(), 2u);
  const wiretest::Frame recorded_hello = b.sent[0];
  const wiretest::Frame recorded_auth = b.sent[1];

  // Session 2: the eavesdropper replays them to a fresh machine of node a.
  Side a2("shared", hello_for("a"));
  a2.hs.start(a2.outbox);
  EXPECT_EQ(feed(a2.hs, FrameType::hello, recorded_hello.payload, a2.outbox), Step::in_progress);
  EXPECT_EQ(feed(a2.hs, FrameType::auth, recorded_auth.payload, a2.outbox), Step::failed);
  EXPECT_EQ(a2.hs.failure_reason(), RefuseReason::bad_cookie);
  const auto refuse = refuse_in(a2.outbox);
  ASSERT_TRUE(refuse.has_value());
  EXPECT_EQ(refuse->reason, RefuseReason::bad_cookie);
}

TEST(Handshake, AReflectedProofFails) {
  // A node without the cookie sends a HELLO, then returns the victim's own AUTH.
  Side victim("shared", hello_for("victim"));
  victim.hs.start(victim.outbox);
  Hello attacker = hello_for("attacker");
  attacker.nonce = make_nonce();
  ASSERT_EQ(feed(victim.hs, FrameType::hello, hello_payload(attacker), victim.outbox),
            Step::in_progress);
  const auto frames = wiretest::split_frames(victim.outbox.view());
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_EQ(frames[1].type, FrameType::auth);
  EXPECT_EQ(feed(victim.hs, FrameType::auth, frames[1].payload, victim.outbox), Step::failed);
  EXPECT_EQ(victim.hs.failure_reason(), RefuseReason::bad_cookie);
}

TEST(Handshake, AReflectedHelloFails) {
  // The victim's own HELLO sent back: answering would make both proofs equal.
  Side victim("shared", hello_for("victim"));
  victim.hs.start(victim.outbox);
  const auto frames = wiretest::split_frames(victim.outbox.view());
  ASSERT_EQ(frames.size(), 1u);
  victim.outbox.clear();
  EXPECT_EQ(feed(victim.hs, FrameType::hello, frames[0].payload, victim.outbox), Step::failed);
  EXPECT_EQ(victim.hs.failure_reason(), RefuseReason::protocol);
  EXPECT_EQ(victim.hs.failure_message(), "HELLO carries this node's own nonce (reflected)");
  const auto out = wiretest::split_frames(victim.outbox.view());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, FrameType::refuse) << "no AUTH may be sent for a reflected HELLO";
}

class OutOfOrder : public ::testing::Test {
 protected:
  void expect_protocol_failure(const std::string& message) {
    EXPECT_EQ(side.hs.step(), Step::failed);
    EXPECT_EQ(side.hs.failure_reason(), RefuseReason::protocol);
    EXPECT_FALSE(side.hs.peer_refused());
    EXPECT_EQ(side.hs.failure_message(), message);
    const auto refuse = refuse_in(side.outbox);
    ASSERT_TRUE(refuse.has_value());
    EXPECT_EQ(refuse->reason, RefuseReason::protocol);
    EXPECT_EQ(refuse->message, message);
  }
  // A frame from the other side, fed to `side`.
  Step feed_frame(FrameType type, const std::string& payload) {
    return feed(side.hs, type, payload, side.outbox);
  }
  // The other side's HELLO, with a fresh nonce.
  Step feed_hello() {
    other.nonce = make_nonce();
    return feed_frame(FrameType::hello, hello_payload(other));
  }
  Side side{"c", hello_for("me")};
  Hello other = hello_for("other");
};

TEST_F(OutOfOrder, AuthBeforeHello) {
  Auth auth;
  auth.version = 1;
  Buffer b;
  encode_auth(b, auth);
  feed_frame(FrameType::auth, wiretest::payload_of(b));
  expect_protocol_failure("AUTH before HELLO");
}

TEST_F(OutOfOrder, ASecondHello) {
  EXPECT_EQ(feed_hello(), Step::in_progress);
  feed_frame(FrameType::hello, hello_payload(other));
  expect_protocol_failure("a second HELLO");
}

TEST_F(OutOfOrder, NonHandshakeFrames) {
  feed_frame(FrameType::ping, "");
  expect_protocol_failure("unexpected ping frame during the handshake (before authentication)");
}

TEST_F(OutOfOrder, CallAfterHelloBeforeAuth) {
  feed_hello();
  feed_frame(FrameType::call, std::string(20, 'x'));
  expect_protocol_failure("unexpected call frame during the handshake (before authentication)");
}

TEST_F(OutOfOrder, HelloWithAnInvalidName) {
  other.name = "bad name";
  feed_frame(FrameType::hello, hello_payload(other));
  expect_protocol_failure(
      "HELLO: field 'name': \"bad name\" is not a name (1-255 printable ASCII characters, no "
      "space)");
  EXPECT_FALSE(side.hs.has_peer_hello());
}

TEST_F(OutOfOrder, MalformedAuth) {
  feed_hello();
  feed_frame(FrameType::auth, wiretest::array(1, "not a proof"));
  expect_protocol_failure("AUTH: field 'proof': expected binary, got string");
}

TEST_F(OutOfOrder, AuthForAnotherVersion) {
  feed_hello();
  feed_frame(FrameType::auth, wiretest::array(1, wiretest::bin(32)));
  expect_protocol_failure("AUTH: field 'version': 1 is not the agreed version 2");
}

TEST(Handshake, FramesBeforeStartSendOurHelloFirst) {
  Side side("c", hello_for("me"));
  Hello other = hello_for("other");
  other.nonce = make_nonce();
  EXPECT_EQ(feed(side.hs, FrameType::hello, hello_payload(other), side.outbox), Step::in_progress);
  const auto frames = wiretest::split_frames(side.outbox.view());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, FrameType::hello);
  EXPECT_EQ(frames[1].type, FrameType::auth);
  side.outbox.clear();
  side.hs.start(side.outbox);  // already started: nothing more
  EXPECT_TRUE(side.outbox.empty());
}

TEST(Handshake, TheirRefuseEndsItWithTheirReason) {
  Side side("c", hello_for("me"));
  side.hs.start(side.outbox);
  side.outbox.clear();
  Buffer b;
  encode_refuse(b, Refuse{RefuseReason::busy, "too many pending handshakes"});
  EXPECT_EQ(feed(side.hs, FrameType::refuse, wiretest::payload_of(b), side.outbox), Step::failed);
  EXPECT_TRUE(side.hs.peer_refused());
  EXPECT_EQ(side.hs.failure_reason(), RefuseReason::busy);
  EXPECT_EQ(side.hs.failure_message(), "too many pending handshakes");
  EXPECT_TRUE(side.outbox.empty()) << "no REFUSE answers a REFUSE";
}

TEST(Handshake, AMalformedRefuseStillEndsIt) {
  Side side("c", hello_for("me"));
  side.hs.start(side.outbox);
  side.outbox.clear();
  EXPECT_EQ(feed(side.hs, FrameType::refuse, wiretest::array(99, "?"), side.outbox), Step::failed);
  EXPECT_TRUE(side.hs.peer_refused());
  EXPECT_EQ(side.hs.failure_reason(), RefuseReason::protocol);
  EXPECT_EQ(side.hs.failure_message(),
            "the peer refused with a malformed REFUSE: REFUSE: field 'reason': 99 is not a "
            "refuse reason (1-9)");
  EXPECT_TRUE(side.outbox.empty());
}

TEST(Handshake, FramesAfterTheEndAreALogicError) {
  Side a("c", hello_for("a"));
  Side b("c", hello_for("b"));
  converse(a, b);
  ASSERT_EQ(a.hs.step(), Step::authenticated);
  EXPECT_EQ(feed(a.hs, FrameType::ping, "", a.outbox), Step::failed);
  EXPECT_EQ(a.hs.failure_message(), "ping frame fed to a finished handshake");
  // Once failed, further frames change nothing and send nothing.
  a.outbox.clear();
  EXPECT_EQ(feed(a.hs, FrameType::hello, "", a.outbox), Step::failed);
  EXPECT_TRUE(a.outbox.empty());
  EXPECT_EQ(a.hs.failure_message(), "ping frame fed to a finished handshake");
}

TEST(Handshake, ConstructorRefusesAnEmptyCookie) {
  EXPECT_THROW(Handshake("", hello_for("a")), std::invalid_argument);
}

TEST(Handshake, AnInvalidOwnHelloFailsWithoutThrowing) {
  // Built on an I/O thread: no exception, a failed machine that tells the peer why.
  Hello bad = hello_for("a");
  bad.region = "Sydney";
  Handshake hs("c", bad);
  EXPECT_EQ(hs.step(), Step::failed);
  const std::string message =
      "this node's own HELLO is invalid: HELLO: field 'region': \"Sydney\" is not a region code";
  EXPECT_EQ(hs.failure_message(), message);
  EXPECT_EQ(hs.failure_reason(), RefuseReason::protocol);
  Buffer out;
  hs.start(out);
  const auto frames = wiretest::split_frames(out.view());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::refuse) << "no HELLO every peer would refuse";
  const auto refuse = refuse_in(out);
  ASSERT_TRUE(refuse.has_value());
  EXPECT_EQ(refuse->message, message);
  out.clear();
  EXPECT_EQ(feed(hs, FrameType::ping, "", out), Step::failed);
  EXPECT_TRUE(out.empty());
}

TEST(AuthProof, MatchesTheDocumentedHmacInput) {
  // HMAC-SHA256("secret", "flyrpc-auth-v1" | 00 01 | 91 01 | 91 02), computed
  // independently (Python's hmac module); docs/PROTOCOL.md has this vector.
  const auto proof = auth_proof("secret", 1, bytes("\x91\x01"), bytes("\x91\x02"));
  std::string hex;
  for (std::uint8_t byte : proof) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", byte);
    hex += two;
  }
  EXPECT_EQ(hex, "b6999f6817c3a20eade21a244581fae7c43d5975c4bc8efd2dfe7b0f8a5c63f5");
  // Order, version and key all matter.
  EXPECT_NE(proof, auth_proof("secret", 1, bytes("\x91\x02"), bytes("\x91\x01")));
  EXPECT_NE(proof, auth_proof("secret", 2, bytes("\x91\x01"), bytes("\x91\x02")));
  EXPECT_NE(proof, auth_proof("secreT", 1, bytes("\x91\x01"), bytes("\x91\x02")));
  EXPECT_NO_THROW(auth_proof("", 1, bytes("\x91\x01"), bytes("\x91\x02")));
}

TEST(Randomness, NoncesAndIncarnationsDiffer) {
  EXPECT_NE(make_nonce(), make_nonce());
  const std::uint64_t a = make_incarnation();
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, make_incarnation());
}

}  // namespace
