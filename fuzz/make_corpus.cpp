// Writes the seed corpora: build-fuzz/make_corpus fuzz/corpus
// One small file per seed, named for what it holds; rerun after a protocol
// change and commit the result.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "fly/detail/codec.hpp"
#include "wire/frames.hpp"
#include "wire/handshake.hpp"

using namespace fly::wire;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string str(const Buffer& b) {
  return std::string(b.data(), b.size());
}

Hello hello(const char* name) {
  Hello h;
  h.name = name;
  h.region = "syd";
  h.incarnation = 42;
  h.listen_address = "[fdaa::1]:4370";
  return h;
}

template <class... Ts>
std::string args(const Ts&... a) {
  Buffer b;
  fly::detail::encode_args(b, a...);
  return str(b);
}

void frames() {
  Buffer b;
  encode_hello(b, hello("a@syd"));
  write("fuzz_frames", "hello", str(b));
  b.clear();
  encode_auth(b, Auth{1, {}});
  write("fuzz_frames", "auth", str(b));
  b.clear();
  encode_refuse(b, Refuse{RefuseReason::bad_cookie, "wrong cookie"});
  write("fuzz_frames", "refuse", str(b));
  b.clear();
  encode_announce(b, Announce{3, {{"Kernel.+", "Kernel.+(int, int) -> int"}, {"F.g", ""}}});
  write("fuzz_frames", "announce", str(b));
  b.clear();
  encode_peers(b, {{"b", "lax", "10.0.0.2:4370"}, {"c", "ams", "[::1]:9"}});
  write("fuzz_frames", "peers", str(b));
  b.clear();
  encode_goodbye(b, "stopping");
  write("fuzz_frames", "goodbye", str(b));
  b.clear();
  std::size_t start = begin_call(b, 1, 5000, "Kernel.+");
  fly::detail::encode_args(b, 1, 2);
  end_frame(b, start);
  write("fuzz_frames", "call", str(b));
  b.clear();
  start = begin_reply(b, 1, fly::Errc::ok);
  fly::detail::encode_args(b, 3);
  end_frame(b, start);
  start = begin_reply(b, 2, fly::Errc::remote_error);
  encode_reply_strings(b, {"std::runtime_error", "boom"});
  end_frame(b, start);
  start = begin_reply(b, 3, fly::Errc::unknown_function);
  end_frame(b, start);
  encode_cancel(b, 4);
  encode_ping(b);
  encode_activate(b);
  write("fuzz_frames", "replies_cancel_ping_activate", str(b));
  write("fuzz_frames", "oversized", std::string("\x00\x10\x00\x00\x10", 5));
}

void handshake() {
  // Mode 0: frames into one machine.
  Buffer b;
  encode_hello(b, hello("peer"));
  encode_auth(b, Auth{1, {}});
  write("fuzz_handshake", "hello_then_auth", std::string(1, '\x00') + str(b));
  b.clear();
  encode_refuse(b, Refuse{RefuseReason::version, "no common version"});
  write("fuzz_handshake", "refuse", std::string(1, '\x00') + str(b));
  b.clear();
  encode_ping(b);
  write("fuzz_handshake", "ping", std::string(1, '\x00') + str(b));
  // Mode 1: two machines; the script says what happens to each frame.
  write("fuzz_handshake", "clean_conversation", std::string(1, '\x01'));
  write("fuzz_handshake", "drop_first", std::string("\x01\x01", 2));
  write("fuzz_handshake", "corrupt_auth", std::string("\x01\x00\x00\x02\x05\x80", 6));
  write("fuzz_handshake", "duplicate_hello", std::string("\x01\x04", 2));
  write("fuzz_handshake", "inject_ping", std::string("\x01\x03\x01\x08", 4));
}

void arguments() {
  // Byte 0 indexes fuzz_arguments.cpp's kNames.
  write("fuzz_arguments", "add", std::string(1, '\x00') + args(1, 2));
  write("fuzz_arguments", "upcase", std::string(1, '\x01') + args("fly"));
  write("fuzz_arguments", "sum", std::string(1, '\x02') + args(std::vector<double>{1.5, 2.5}));
  write("fuzz_arguments", "map_size",
        std::string(1, '\x03') + args(std::map<std::string, std::vector<int>>{{"a", {1, 2}}}));
  write("fuzz_arguments", "point",
        std::string(1, '\x04') + args(std::make_tuple(1, 2.0, "p", std::vector<int>{3}), 5));
  write("fuzz_arguments", "tuple", std::string(1, '\x05') + args(std::make_tuple(true, "s", 7)));
  write("fuzz_arguments", "maybe", std::string(1, '\x06') + args(std::optional<std::string>("x")));
  write("fuzz_arguments", "bytes", std::string(1, '\x07') + args(std::vector<char>{'a', 'b'}));
  write("fuzz_arguments", "raise", std::string(1, '\x08') + args("odd"));
  write("fuzz_arguments", "nothing", std::string(1, '\x09') + args());
  write("fuzz_arguments", "unknown", std::string(1, '\x0a') + args(1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR   (writes DIR/<target>/<seed>)\n");
    return 2;
  }
  g_root = argv[1];
  frames();
  handshake();
  arguments();
  return 0;
}
