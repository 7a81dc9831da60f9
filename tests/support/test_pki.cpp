#include "support/test_pki.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "support/process.hpp"

namespace tlstest {

namespace {

namespace fs = std::filesystem;

// Extensions given explicitly, so that the system's openssl.cnf does not matter.
constexpr const char* kConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = flyrpc-test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[node]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = flytest::run(argv, {}, {}, std::chrono::seconds(30));
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("test PKI: `" + cmd + "` failed: " + r.err);
  }
}

void make_key(const std::string& path) {
  openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path});
}

void make_ca(const std::string& dir, const std::string& name, const std::string& cnf) {
  make_key(dir + "/" + name + ".key");
  openssl({"req", "-x509", "-new", "-config", cnf, "-extensions", "ca", "-key",
           dir + "/" + name + ".key", "-subj", "/CN=flyrpc test " + name, "-days", "2", "-out",
           dir + "/" + name + ".pem"});
}

void make_node(const std::string& dir, const std::string& name, const std::string& ca,
               const std::string& cnf, int serial) {
  const std::string base = dir + "/" + name;
  make_key(base + ".key");
  openssl({"req", "-new", "-config", cnf, "-key", base + ".key", "-subj", "/CN=" + name, "-out",
           base + ".csr"});
  openssl({"x509", "-req", "-in", base + ".csr", "-CA", dir + "/" + ca + ".pem", "-CAkey",
           dir + "/" + ca + ".key", "-set_serial", std::to_string(serial), "-days", "2", "-extfile",
           cnf, "-extensions", "node", "-out", base + ".pem"});
}

std::string* g_dir = nullptr;
void remove_dir() {
  if (g_dir == nullptr) return;
  std::error_code ec;
  fs::remove_all(*g_dir, ec);
}

TestPki make() {
  std::string tmpl = (fs::temp_directory_path() / "flyrpc-tls-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  g_dir = new std::string(tmpl);
  std::atexit(remove_dir);
  TestPki pki;
  pki.dir = tmpl;
  const std::string cnf = pki.dir + "/openssl.cnf";
  std::ofstream(cnf) << kConfig;
  make_ca(pki.dir, "ca", cnf);
  make_ca(pki.dir, "other_ca", cnf);
  int serial = 1;
  for (const char* n : {"a", "b", "c", "client"}) make_node(pki.dir, n, "ca", cnf, serial++);
  make_node(pki.dir, "rogue", "other_ca", cnf, serial++);
  pki.ca = pki.dir + "/ca.pem";
  pki.other_ca = pki.dir + "/other_ca.pem";
  return pki;
}

}  // namespace

const TestPki& TestPki::get() {
  static const TestPki pki = make();
  return pki;
}

CertFiles TestPki::node(const std::string& name) const {
  return {dir + "/" + name + ".pem", dir + "/" + name + ".key"};
}

fly::TlsOptions tls_options(const CertFiles& files, const std::string& ca_file, bool mutual) {
  fly::TlsOptions t;
  t.certificate_file = files.cert;
  t.private_key_file = files.key;
  t.ca_file = ca_file;
  t.require_client_certificate = mutual;
  return t;
}

}  // namespace tlstest
