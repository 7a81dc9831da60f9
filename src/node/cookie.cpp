#include "node/cookie.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/random.hpp"
#include "fly/errors.hpp"

namespace fly::node {

std::string cookie_file_path() {
  const char* home = std::getenv("HOME");
  std::string dir = (home != nullptr && *home != '\0') ? home : "";
  if (dir.empty()) {
    if (const passwd* pw = ::getpwuid(::geteuid())) dir = pw->pw_dir;
  }
  if (dir.empty()) dir = "/tmp";
  return dir + "/.flyrpc.cookie";
}

void validate_cookie(const std::string& setting, const std::string& cookie) {
  if (cookie.empty() || cookie.size() > 1024) {
    throw ConfigError(setting, cookie.empty() ? "" : "<hidden>", "the cookie must be 1-1024 bytes");
  }
}

namespace {
std::string random_secret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr unsigned kSize = sizeof kAlphabet - 1;  // 62
  constexpr unsigned kLimit = 256 - 256 % kSize;    // 248: no modulo bias
  std::string s;
  while (s.size() < 32) {
    unsigned char bytes[64];
    detail::secure_random_bytes(bytes, sizeof bytes);
    for (unsigned char b : bytes) {
      if (b < kLimit && s.size() < 32) s.push_back(kAlphabet[b % kSize]);
    }
  }
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::string read_or_create_cookie() {
  const std::string path = cookie_file_path();
  const std::string setting = "cookie file";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    const std::string secret = random_secret();
    const bool ok =
        ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
    ::close(fd);
    if (!ok) throw ConfigError(setting, path, "cannot write it");
    return secret;
  }
  if (errno != EEXIST) {
    throw ConfigError(
        setting, path,
        std::string("cannot create it: ") + std::strerror(errno) + " (or set FLY_RPC_COOKIE)");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError(setting, path, std::string("cannot stat it: ") + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    throw ConfigError(setting, path, "it must be accessible by its owner only (chmod 600)");
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string cookie = trim(ss.str());
  if (!in && !in.eof()) throw ConfigError(setting, path, "cannot read it");
  if (cookie.empty()) throw ConfigError(setting, path, "it is empty");
  return cookie;
}

}  // namespace fly::node
