// The files of a TLS directory made by bench/run.sh (see Target::tls_dir).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flybench {

/// The path of `name` (ca.pem, server.pem, server.key, client.pem,
/// client.key) in `dir`; throws naming the file when it cannot be read.
inline std::string tls_file(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  if (!std::ifstream(path)) throw std::runtime_error("TLS: cannot read " + path);
  return path;
}

/// The whole content of tls_file(dir, name).
inline std::string read_tls_file(const std::string& dir, const std::string& name) {
  std::ifstream in(tls_file(dir, name));
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

}  // namespace flybench
