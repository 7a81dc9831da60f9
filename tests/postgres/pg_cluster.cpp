#include "pg_cluster.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "support/process.hpp"

namespace flytest {

namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin";
const std::string kScript = std::string(FLYRPC_SOURCE_DIR) + "/scripts/pg-cluster.sh";

std::unique_ptr<PgCluster>& shared() {
  static std::unique_ptr<PgCluster> c;
  return c;
}
std::string& error() {
  static std::string e;
  return e;
}

int index_of(const std::string& server) {
  if (server == "primary") return 0;
  if (server == "replica1") return 1;
  if (server == "replica2") return 2;
  throw std::invalid_argument("no server " + server);
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { PgCluster::start_shared(); }
  void TearDown() override { PgCluster::stop_shared(); }
};
[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new Environment);

}  // namespace

std::string PgCluster::unavailable_reason() {
  if (::geteuid() != 0) return "needs root: initdb runs as the postgres user through runuser";
  if (::access((kBin + "/postgres").c_str(), X_OK) != 0) {
    return kBin + "/postgres not found: install postgresql-15 (scripts/install-deps.sh test)";
  }
  if (::access("/usr/sbin/runuser", X_OK) != 0 && ::access("/sbin/runuser", X_OK) != 0) {
    return "runuser not found";
  }
  return "";
}

PgCluster* PgCluster::get() {
  return shared().get();
}
const std::string& PgCluster::start_error() {
  return error();
}

void PgCluster::start_shared() {
  if (!unavailable_reason().empty()) return;
  char tmpl[] = "/tmp/flyrpc-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    error() = "mkdtemp failed";
    return;
  }
  auto c = std::make_unique<PgCluster>();
  c->dir_ = tmpl;
  // The cluster stops by itself if this process dies without tearing down.
  auto r = run({kScript, "start", c->dir_}, {{"PG_CLUSTER_OWNER_PID", std::to_string(::getpid())}},
               {}, std::chrono::seconds(120));
  if (r.exit_code != 0) {
    error() =
        "scripts/pg-cluster.sh start failed (exit " + std::to_string(r.exit_code) + "): " + r.err;
    run({kScript, "stop", c->dir_}, {}, {}, std::chrono::seconds(60));
    return;
  }
  std::ifstream ports(c->dir_ + "/ports");
  std::string name;
  int port = 0;
  while (ports >> name >> port) c->ports_[index_of(name)] = port;
  shared() = std::move(c);
}

void PgCluster::stop_shared() {
  if (auto& c = shared()) {
    run({kScript, "stop", c->dir_}, {}, {}, std::chrono::seconds(60));
    c.reset();
  }
}

int PgCluster::port(const std::string& server) const {
  return ports_[index_of(server)];
}

std::string PgCluster::url(const std::string& server) const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port(server)) + "/postgres";
}

void PgCluster::stop_server(const std::string& server) {
  auto r = run({"runuser", "-u", "postgres", "--", kBin + "/pg_ctl", "-D", dir_ + "/" + server,
                "-m", "fast", "-w", "-t", "30", "stop"},
               {}, {}, std::chrono::seconds(40));
  if (r.exit_code != 0) throw std::runtime_error("pg_ctl stop " + server + ": " + r.err);
}

void PgCluster::start_server(const std::string& server) {
  auto r = run({"runuser", "-u", "postgres", "--", kBin + "/pg_ctl", "-D", dir_ + "/" + server,
                "-l", dir_ + "/" + server + ".log", "-w", "-t", "30", "start"},
               {}, {}, std::chrono::seconds(40));
  if (r.exit_code != 0) throw std::runtime_error("pg_ctl start " + server + ": " + r.err);
}

}  // namespace flytest
