// Randomness and the handshake's HMAC proof, on OpenSSL 3.
//
//   proof = HMAC-SHA256(key = cookie,
//                       "flyrpc-auth-v1" | u16 version (big-endian)
//                       | sender's HELLO payload | receiver's HELLO payload)
//
// Each HELLO payload is exactly one msgpack value, so the concatenation is
// unambiguous. Cost: one EVP_MAC context per proof (two per handshake).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "wire/handshake.hpp"

namespace fly::wire {

namespace {

constexpr std::string_view kProofLabel = "flyrpc-auth-v1";

void random_bytes(unsigned char* p, std::size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: no secure randomness available");
  }
}

// The fetched HMAC implementation, shared by every thread (EVP_MAC objects
// are immutable and thread-safe once fetched). Lives until exit.
EVP_MAC* hmac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL: HMAC is not available");
  return mac;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

}  // namespace

std::array<std::uint8_t, kNonceSize> make_nonce() {
  std::array<std::uint8_t, kNonceSize> nonce{};
  random_bytes(nonce.data(), nonce.size());
  return nonce;
}

std::uint64_t make_incarnation() {
  // Never 0: 0 is Hello's "not set" value.
  std::uint64_t v = 0;
  while (v == 0) {
    unsigned char b[8];
    random_bytes(b, sizeof b);
    for (unsigned char c : b) v = (v << 8) | c;
  }
  return v;
}

std::array<std::uint8_t, kProofSize> auth_proof(std::string_view cookie, std::uint16_t version,
                                                Bytes sender_hello_payload,
                                                Bytes receiver_hello_payload) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(hmac()));
  if (!ctx) throw std::runtime_error("OpenSSL: EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  // An empty key is legal HMAC; give OpenSSL a valid pointer for it.
  static const unsigned char kNoKey = 0;
  const auto* key =
      cookie.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(cookie.data());
  const unsigned char version_be[2] = {static_cast<unsigned char>(version >> 8),
                                       static_cast<unsigned char>(version)};
  auto update = [&](const void* p, std::size_t n) {
    return EVP_MAC_update(ctx.get(), static_cast<const unsigned char*>(p), n) == 1;
  };
  std::array<std::uint8_t, kProofSize> proof{};
  std::size_t len = 0;
  const bool ok =
      EVP_MAC_init(ctx.get(), key, cookie.size(), params) == 1 &&
      update(kProofLabel.data(), kProofLabel.size()) && update(version_be, sizeof version_be) &&
      update(sender_hello_payload.data(), sender_hello_payload.size()) &&
      update(receiver_hello_payload.data(), receiver_hello_payload.size()) &&
      EVP_MAC_final(ctx.get(), proof.data(), &len, proof.size()) == 1 && len == kProofSize;
  if (!ok) throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  return proof;
}

}  // namespace fly::wire
