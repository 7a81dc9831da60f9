// Two nodes in one process, in regions syd (the primary) and lax: the lax node
// calls a function on the primary, and one in its own region (which runs
// locally). Prints what happened; exits 0 if everything behaved.
#include <fly/node.hpp>
#include <fly/version.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

static fly::NodeOptions options(const char* name, const char* region) {
  fly::NodeOptions o;
  o.name = name;
  o.region = region;
  o.primary_region = "syd";
  o.port = 0;  // any free port
  o.cookie = "example-cookie";
  return o;
}

int main() {
  // The library linked in, and the headers compiled against (fly/version.hpp).
  std::printf("flyrpc %s (headers %s)\n", std::string(fly::version()).c_str(),
              FLYRPC_VERSION_STRING);
  fly::Node syd(options("syd-1", "syd"));
  syd.expose("Fly.my_region", [&syd] { return syd.region(); });
  syd.start();

  auto lax_options = options("lax-1", "lax");
  lax_options.seeds = {"127.0.0.1:" + std::to_string(syd.listen_port())};
  fly::Node lax(lax_options);
  lax.expose("Fly.my_region", [&lax] { return lax.region(); });
  lax.start();
  if (!lax.wait_for_region("syd", 10s)) {
    std::fprintf(stderr, "hello_regions: never saw the primary region\n");
    return 1;
  }
  try {
    const std::string primary = lax.rpc_primary<std::string>("Fly.my_region");
    const std::string local = lax.rpc_region<std::string>("lax", "Fly.my_region");
    std::printf("is_primary=%s primary ran in %s, local ran in %s\n",
                lax.is_primary() ? "true" : "false", primary.c_str(), local.c_str());
    return primary == "syd" && local == "lax" ? 0 : 1;
  } catch (const fly::Error& e) {
    std::fprintf(stderr, "hello_regions: %s\n", e.what());
    return 1;
  }
}
