#include "prometheus_support.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "http_client.hpp"
#include "support/wait.hpp"

namespace flytest {

namespace fs = std::filesystem;

std::string find_tool(const std::string& name) {
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const auto end = std::min(dirs.find(':', start), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  const std::string debian = "/usr/bin/" + name;
  return ::access(debian.c_str(), X_OK) == 0 ? debian : "";
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "flyrpc-prometheus-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

PrometheusServer start_prometheus(const std::string& binary, const TempDir& dir,
                                  const std::string& target) {
  {
    std::ofstream config(dir.path / "prometheus.yml");
    config << "global:\n"
              "  scrape_interval: 1s\n"
              "  scrape_timeout: 1s\n"
              "  evaluation_interval: 1s\n"
              "scrape_configs:\n"
              "  - job_name: flyrpc\n"
              "    scrape_interval: 1s\n"
              "    static_configs:\n"
              "      - targets: ['"
           << target << "']\n";
  }
  const int port = free_port();
  asio::ip::tcp::endpoint api{asio::ip::address_v4::loopback(), static_cast<unsigned short>(port)};
  auto process = Process::spawn({binary, "--config.file=" + (dir.path / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir.path / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--log.level=warn"});
  return {std::move(process), api};
}

namespace {
// GET on Prometheus's API; null when it is not up yet or answers non-JSON.
nlohmann::json api_get(const asio::ip::tcp::endpoint& prometheus, const std::string& target) {
  try {
    const auto r = http_get(prometheus, target);
    if (r.status != 200) return nullptr;
    return nlohmann::json::parse(r.body, nullptr, false);
  } catch (const std::exception&) {
    return nullptr;  // connection refused while Prometheus starts
  }
}
}  // namespace

nlohmann::json prometheus_query(const asio::ip::tcp::endpoint& prometheus,
                                const std::string& promql) {
  std::string encoded;
  for (unsigned char c : promql) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-') {
      encoded += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += hex;
    }
  }
  const auto j = api_get(prometheus, "/api/v1/query?query=" + encoded);
  if (!j.is_object() || j.value("status", "") != "success") return nlohmann::json::array();
  return j["data"]["result"];
}

std::string sample_value(const nlohmann::json& series) {
  return series["value"][1].get<std::string>();
}

ProcessResult promtool_check(const std::string& promtool, const TempDir& dir,
                             const std::string& text) {
  const fs::path file = dir.path / "metrics.txt";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  // promtool reads the text on stdin.
  return run({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, file.string()});
}

}  // namespace flytest
