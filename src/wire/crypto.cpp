// Randomness and the handshake's HMAC proof.
//
//   proof = HMAC-SHA256(key = cookie,
//                       "flyrpc-auth-v1" | u16 version (big-endian)
//                       | sender's HELLO payload | receiver's HELLO payload)
//
// Each HELLO payload is exactly one msgpack value, so the concatenation is
// unambiguous.
//
// Why OpenSSL's SHA256_* functions rather than EVP_MAC: in OpenSSL 3 the
// first EVP fetch loads the provider machinery, which costs every node about
// 2.3 MiB of resident memory for two HMACs per handshake (measured with a
// 10-line program: +2.3 MiB after the first HMAC() call, +0.26 MiB after
// SHA256_Init/Update/Final; docs/PERFORMANCE.md). The low-level SHA-256
// functions are deprecated in OpenSSL 3 but present until 4.0; HMAC over them
// is RFC 2104's two nested hashes, checked against RFC 4231's test vectors
// and against OpenSSL's own HMAC() (tests/wire/crypto_test.cpp). Randomness
// comes from the kernel (base/random.hpp) for the same reason.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "base/random.hpp"
#include "wire/handshake.hpp"

namespace fly::wire {

namespace {

constexpr std::string_view kProofLabel = "flyrpc-auth-v1";

void random_bytes(unsigned char* p, std::size_t n) {
  detail::secure_random_bytes(p, n);
}

}  // namespace

std::array<std::uint8_t, kProofSize> hmac_sha256(std::string_view key,
                                                 std::initializer_list<Bytes> message) {
  constexpr std::size_t kBlock = SHA256_CBLOCK;  // 64
  static_assert(kProofSize == SHA256_DIGEST_LENGTH);
  // RFC 2104: a key longer than the block is hashed first; then zero-padded.
  unsigned char k[kBlock] = {};
  if (key.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), k);
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  std::array<std::uint8_t, kProofSize> inner{};
  SHA256_CTX ctx;
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad, kBlock);
  for (const Bytes part : message) SHA256_Update(&ctx, part.data(), part.size());
  SHA256_Final(inner.data(), &ctx);
  std::array<std::uint8_t, kProofSize> mac{};
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad, kBlock);
  SHA256_Update(&ctx, inner.data(), inner.size());
  SHA256_Final(mac.data(), &ctx);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(&ctx, sizeof ctx);
  return mac;
}

std::array<std::uint8_t, kNonceSize> make_nonce() {
  std::array<std::uint8_t, kNonceSize> nonce{};
  random_bytes(nonce.data(), nonce.size());
  return nonce;
}

std::uint64_t make_incarnation() {
  // Ordered by start time, so "the newer of two incarnations" has one answer
  // on every node (PROTOCOL.md 6): milliseconds since the Unix epoch in the
  // high 44 bits (good until the year 2527), 20 random bits below, so two
  // processes started in the same millisecond still differ. Never 0 (Hello's
  // "not set").
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  unsigned char b[3];
  random_bytes(b, sizeof b);
  const std::uint64_t low = ((std::uint64_t{b[0]} << 16) | (std::uint64_t{b[1]} << 8) | b[2]) &
                            ((std::uint64_t{1} << 20) - 1);
  const std::uint64_t v = (static_cast<std::uint64_t>(ms < 0 ? 0 : ms) << 20) | low;
  return v == 0 ? 1 : v;
}

std::array<std::uint8_t, kProofSize> auth_proof(std::string_view cookie, std::uint16_t version,
                                                Bytes sender_hello_payload,
                                                Bytes receiver_hello_payload) {
  const char version_be[2] = {static_cast<char>(version >> 8), static_cast<char>(version & 0xff)};
  return hmac_sha256(cookie, {Bytes(kProofLabel.data(), kProofLabel.size()), Bytes(version_be, 2),
                              sender_hello_payload, receiver_hello_payload});
}

}  // namespace fly::wire
