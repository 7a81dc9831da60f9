// The msgpack-array messages: HELLO, AUTH, REFUSE, ANNOUNCE, PEERS, GOODBYE,
// and the empty ACTIVATE and PING. Field order is the struct's order
// (docs/PROTOCOL.md). Decoders decode into a temporary and move it into `out`
// only when every field passed, so a failed decode leaves `out` untouched.
//
// Cost: these frames are rare (handshake, membership changes), so decoding
// uses a local msgpack zone rather than the per-thread scratch zone that the
// hot path may be holding.
#include <fmt/format.h>

#include <cstring>

#include "fly/detail/codec.hpp"
#include "wire/fields.hpp"
#include "wire/frames.hpp"

namespace fly::wire {

namespace {

using fields::Reader;
using Packer = msgpack::packer<Buffer>;

/// HELLO may grow: a later protocol version may append fields, which this
/// version ignores (the proof still covers them, as it covers the payload).
constexpr std::size_t kHelloFields = 8;
constexpr std::size_t kMaxHelloFields = 64;
constexpr std::size_t kZoneChunk = 2048;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack(s);
}

void pack_bin(Packer& pk, const std::uint8_t* p, std::size_t n) {
  pk.pack_bin(static_cast<std::uint32_t>(n));
  pk.pack_bin_body(reinterpret_cast<const char*>(p), static_cast<std::uint32_t>(n));
}

// Runs a decoder body; an allocation failure becomes a false return, so no
// decoder ever throws.
template <class F>
bool guarded(std::string& error, F&& body) noexcept {
  try {
    return body();
  } catch (...) {
    try {
      error = "out of memory while decoding a frame";
    } catch (...) {
    }
    return false;
  }
}

bool empty_payload(Bytes payload, const char* what, std::string& error) noexcept {
  if (payload.empty()) return true;
  return guarded(error, [&] {
    error = fmt::format("{}: payload must be empty, got {} bytes", what, payload.size());
    return false;
  });
}

bool read_version(Reader& r, const msgpack::object& o, const char* field, std::uint16_t& out) {
  std::uint64_t v = 0;
  if (!r.uint(o, field, 0xffff, v)) return false;
  if (v == 0) return r.fail(field, "0 is not a protocol version (versions start at 1)");
  out = static_cast<std::uint16_t>(v);
  return true;
}

}  // namespace

// ---- HELLO: [min_version, max_version, name, region, hidden, incarnation,
//              nonce(bin 32), listen_address]

void encode_hello(Buffer& out, const Hello& hello) {
  const std::size_t start = begin_frame(out, FrameType::hello);
  Packer pk(out);
  pk.pack_array(kHelloFields);
  pk.pack_uint16(hello.min_version);
  pk.pack_uint16(hello.max_version);
  pack_str(pk, hello.name);
  pack_str(pk, hello.region);
  if (hello.hidden) {
    pk.pack_true();
  } else {
    pk.pack_false();
  }
  pk.pack_uint64(hello.incarnation);
  pack_bin(pk, hello.nonce.data(), hello.nonce.size());
  pack_str(pk, hello.listen_address);
  end_frame(out, start);
}

bool decode_hello(Bytes payload, Hello& out, std::string& error) {
  return guarded(error, [&] {
    msgpack::zone zone(kZoneChunk);
    msgpack::object o;
    if (!fields::decode_payload(zone, payload, "HELLO", o, error)) return false;
    Reader r("HELLO", error);
    if (!r.array(o, kHelloFields, kMaxHelloFields, "fields")) return false;
    const msgpack::object* f = o.via.array.ptr;
    Hello h;
    if (!read_version(r, f[0], "min_version", h.min_version)) return false;
    if (!read_version(r, f[1], "max_version", h.max_version)) return false;
    if (h.max_version < h.min_version) {
      return r.fail("max_version",
                    fmt::format("{} is below min_version {}", h.max_version, h.min_version));
    }
    if (!r.name(f[2], "name", h.name)) return false;
    if (!r.region(f[3], "region", h.region)) return false;
    if (!r.boolean(f[4], "hidden", h.hidden)) return false;
    if (!r.uint(f[5], "incarnation", UINT64_MAX, h.incarnation)) return false;
    const char* nonce = nullptr;
    if (!r.bin(f[6], "nonce", kNonceSize, nonce)) return false;
    std::memcpy(h.nonce.data(), nonce, kNonceSize);
    if (!r.address(f[7], "listen_address", true, h.listen_address)) return false;
    out = std::move(h);
    return true;
  });
}

// ---- AUTH: [version, proof(bin 32)]

void encode_auth(Buffer& out, const Auth& auth) {
  const std::size_t start = begin_frame(out, FrameType::auth);
  Packer pk(out);
  pk.pack_array(2);
  pk.pack_uint16(auth.version);
  pack_bin(pk, auth.proof.data(), auth.proof.size());
  end_frame(out, start);
}

bool decode_auth(Bytes payload, Auth& out, std::string& error) {
  return guarded(error, [&] {
    msgpack::zone zone(kZoneChunk);
    msgpack::object o;
    if (!fields::decode_payload(zone, payload, "AUTH", o, error)) return false;
    Reader r("AUTH", error);
    if (!r.array(o, 2, 2, "fields")) return false;
    Auth a;
    if (!read_version(r, o.via.array.ptr[0], "version", a.version)) return false;
    const char* proof = nullptr;
    if (!r.bin(o.via.array.ptr[1], "proof", kProofSize, proof)) return false;
    std::memcpy(a.proof.data(), proof, kProofSize);
    out = a;
    return true;
  });
}

// ---- REFUSE: [reason, message]

void encode_refuse(Buffer& out, const Refuse& refuse) {
  const std::size_t start = begin_frame(out, FrameType::refuse);
  Packer pk(out);
  pk.pack_array(2);
  pk.pack_uint8(static_cast<std::uint8_t>(refuse.reason));
  pack_str(pk, fields::to_log_text(refuse.message, kMaxMessageSize));
  end_frame(out, start);
}

bool decode_refuse(Bytes payload, Refuse& out, std::string& error) {
  return guarded(error, [&] {
    msgpack::zone zone(kZoneChunk);
    msgpack::object o;
    if (!fields::decode_payload(zone, payload, "REFUSE", o, error)) return false;
    Reader r("REFUSE", error);
    if (!r.array(o, 2, 2, "fields")) return false;
    std::uint64_t reason = 0;
    if (!r.uint(o.via.array.ptr[0], "reason", 0xff, reason)) return false;
    const auto typed = static_cast<RefuseReason>(reason);
    if (std::string_view(to_string(typed)) == "unknown") {
      return r.fail("reason", fmt::format("{} is not a refuse reason (1-9)", reason));
    }
    Refuse result;
    result.reason = typed;
    if (!r.text(o.via.array.ptr[1], "message", kMaxMessageSize, result.message)) return false;
    out = std::move(result);
    return true;
  });
}

// ---- ANNOUNCE: [generation, [[name, signature], ...]]

void encode_announce(Buffer& out, const Announce& announce) {
  const std::size_t start = begin_frame(out, FrameType::announce);
  Packer pk(out);
  pk.pack_array(2);
  pk.pack_uint64(announce.generation);
  pk.pack_array(static_cast<std::uint32_t>(announce.functions.size()));
  for (const ExportedFunction& f : announce.functions) {
    pk.pack_array(2);
    pack_str(pk, f.name);
    if (f.signature.size() <= kMaxSignatureSize && fields::is_log_text(f.signature)) {
      pack_str(pk, f.signature);
    } else {
      pack_str(pk, fields::to_log_text(f.signature, kMaxSignatureSize));
    }
  }
  end_frame(out, start);
}

bool decode_announce(Bytes payload, Announce& out, std::string& error) {
  return guarded(error, [&] {
    msgpack::zone zone(kZoneChunk);
    msgpack::object o;
    if (!fields::decode_payload(zone, payload, "ANNOUNCE", o, error)) return false;
    Reader r("ANNOUNCE", error);
    if (!r.array(o, 2, 2, "fields")) return false;
    Announce a;
    if (!r.uint(o.via.array.ptr[0], "generation", UINT64_MAX, a.generation)) return false;
    const msgpack::object& list = o.via.array.ptr[1];
    if (!r.list(list, "functions", kMaxFunctions, "functions")) return false;
    a.functions.resize(list.via.array.size);
    for (std::uint32_t i = 0; i < list.via.array.size; ++i) {
      Reader fr(fmt::format("ANNOUNCE: function {}", i), error);
      const msgpack::object& item = list.via.array.ptr[i];
      if (!fr.array(item, 2, 2, "fields")) return false;
      if (!fr.name(item.via.array.ptr[0], "name", a.functions[i].name)) return false;
      if (!fr.text(item.via.array.ptr[1], "signature", kMaxSignatureSize,
                   a.functions[i].signature)) {
        return false;
      }
    }
    out = std::move(a);
    return true;
  });
}

// ---- ACTIVATE, PING: empty payloads

void encode_activate(Buffer& out) {
  end_frame(out, begin_frame(out, FrameType::activate));
}
bool decode_activate(Bytes payload, std::string& error) {
  return empty_payload(payload, "ACTIVATE", error);
}

void encode_ping(Buffer& out) {
  end_frame(out, begin_frame(out, FrameType::ping));
}
bool decode_ping(Bytes payload, std::string& error) {
  return empty_payload(payload, "PING", error);
}

// ---- PEERS: [[name, region, address], ...]

void encode_peers(Buffer& out, const std::vector<PeerInfo>& peers) {
  const std::size_t start = begin_frame(out, FrameType::peers);
  Packer pk(out);
  pk.pack_array(static_cast<std::uint32_t>(peers.size()));
  for (const PeerInfo& p : peers) {
    pk.pack_array(3);
    pack_str(pk, p.name);
    pack_str(pk, p.region);
    pack_str(pk, p.address);
  }
  end_frame(out, start);
}

bool decode_peers(Bytes payload, std::vector<PeerInfo>& out, std::string& error) {
  return guarded(error, [&] {
    msgpack::zone zone(kZoneChunk);
    msgpack::object o;
    if (!fields::decode_payload(zone, payload, "PEERS", o, error)) return false;
    Reader r("PEERS", error);
    if (o.type != msgpack::type::ARRAY) {
      return r.fail("expected an array of peers, got " + fly::detail::describe(o));
    }
    if (o.via.array.size > kMaxPeers) {
      return r.fail(
          fmt::format("{} peers, more than the limit of {}", o.via.array.size, kMaxPeers));
    }
    std::vector<PeerInfo> peers(o.via.array.size);
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
      Reader pr(fmt::format("PEERS: peer {}", i), error);
      const msgpack::object& item = o.via.array.ptr[i];
      if (!pr.array(item, 3, 3, "fields")) return false;
      if (!pr.name(item.via.array.ptr[0], "name", peers[i].name)) return false;
      if (!pr.region(item.via.array.ptr[1], "region", peers[i].region)) return false;
      if (!pr.address(item.via.array.ptr[2], "address", false, peers[i].address)) return false;
    }
    out = std::move(peers);
    return true;
  });
}

// ---- GOODBYE: [reason]

void encode_goodbye(Buffer& out, std::string_view reason) {
  const std::size_t start = begin_frame(out, FrameType::goodbye);
  Packer pk(out);
  pk.pack_array(1);
  pack_str(pk, fields::to_log_text(reason, kMaxMessageSize));
  end_frame(out, start);
}

bool decode_goodbye(Bytes payload, std::string& reason, std::string& error) {
  return guarded(error, [&] {
    msgpack::zone zone(kZoneChunk);
    msgpack::object o;
    if (!fields::decode_payload(zone, payload, "GOODBYE", o, error)) return false;
    Reader r("GOODBYE", error);
    if (!r.array(o, 1, 1, "fields")) return false;
    std::string text;
    if (!r.text(o.via.array.ptr[0], "reason", kMaxMessageSize, text)) return false;
    reason = std::move(text);
    return true;
  });
}

}  // namespace fly::wire
