// The handshake's HMAC-SHA256, built on OpenSSL's low-level SHA-256 (see
// src/wire/crypto.cpp for why): RFC 4231's test vectors, and agreement with
// OpenSSL's own HMAC() for every key and message length around the block size.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <vector>

#include "wire/handshake.hpp"

namespace {

using fly::wire::Bytes;

std::string hex(const std::array<std::uint8_t, fly::wire::kProofSize>& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : d) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

std::string mac_hex(const std::string& key, const std::string& data) {
  return hex(fly::wire::hmac_sha256(key, {Bytes(data.data(), data.size())}));
}

std::string openssl_hmac_hex(const std::string& key, const std::string& data) {
  std::array<std::uint8_t, fly::wire::kProofSize> out{};
  unsigned int len = 0;
  static const unsigned char kNoKey = 0;
  HMAC(EVP_sha256(), key.empty() ? static_cast<const void*>(&kNoKey) : key.data(),
       static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  EXPECT_EQ(len, out.size());
  return hex(out);
}

TEST(HmacSha256, Rfc4231TestVectors) {
  // Test case 1.
  EXPECT_EQ(mac_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  EXPECT_EQ(mac_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3: 50 bytes of 0xdd under a 20-byte 0xaa key.
  EXPECT_EQ(mac_hex(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 6: a 131-byte key, longer than the block, is hashed first.
  EXPECT_EQ(
      mac_hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, AgreesWithOpenSslHmacForEveryLengthAroundTheBlock) {
  std::mt19937 rng(42);
  auto random_string = [&](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  for (std::size_t key_len : {0, 1, 31, 32, 63, 64, 65, 127, 128, 200}) {
    for (std::size_t data_len : {0, 1, 55, 56, 63, 64, 65, 119, 120, 1000}) {
      const std::string key = random_string(key_len);
      const std::string data = random_string(data_len);
      EXPECT_EQ(mac_hex(key, data), openssl_hmac_hex(key, data))
          << "key " << key_len << " bytes, data " << data_len << " bytes";
    }
  }
}

TEST(HmacSha256, TheMessageIsTheConcatenationOfItsParts) {
  const std::string a = "flyrpc-auth-v1", b = "\x00\x01", c = "hello one", d = "hello two";
  const auto parts =
      fly::wire::hmac_sha256("cookie", {Bytes(a.data(), a.size()), Bytes(b.data(), 2),
                                        Bytes(c.data(), c.size()), Bytes(d.data(), d.size())});
  EXPECT_EQ(hex(parts), openssl_hmac_hex("cookie", a + std::string(b.data(), 2) + c + d));
}

TEST(AuthProof, IsTheHmacOfLabelVersionAndBothHellos) {
  const std::string mine = "\x81\xa1n\xa3one", theirs = "\x81\xa1n\xa3two";
  const auto proof = fly::wire::auth_proof("secret", 0x0102, Bytes(mine.data(), mine.size()),
                                           Bytes(theirs.data(), theirs.size()));
  EXPECT_EQ(hex(proof), openssl_hmac_hex("secret", "flyrpc-auth-v1\x01\x02" + mine + theirs));
  // Bound to the order of the two HELLOs and to the cookie.
  EXPECT_NE(proof, fly::wire::auth_proof("secret", 0x0102, Bytes(theirs.data(), theirs.size()),
                                         Bytes(mine.data(), mine.size())));
  EXPECT_NE(proof, fly::wire::auth_proof("Secret", 0x0102, Bytes(mine.data(), mine.size()),
                                         Bytes(theirs.data(), theirs.size())));
}

TEST(Randomness, NoncesAndIncarnationsDiffer) {
  EXPECT_NE(fly::wire::make_nonce(), fly::wire::make_nonce());
  const std::uint64_t a = fly::wire::make_incarnation(), b = fly::wire::make_incarnation();
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
}

}  // namespace
