// A loopback TCP relay that records what clients send: a test points a real
// client (`flyrpc call`) at the relay instead of at a node, the relay passes
// every byte both ways unchanged, and the test then has the client's exact
// bytes (its HELLO, its AUTH, its CALLs) to replay elsewhere. A man in the
// middle, as an attacker on the network would be.
//
// One thread of its own pumps the bytes (poll(), blocking writes: fine for
// the few KiB of a handshake and a call on loopback). The destructor stops
// it and closes every socket.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flytest {

class TcpRelay {
 public:
  /// Listens on 127.0.0.1 at a free port; each client it accepts is joined
  /// to a new connection to `target` ("127.0.0.1:port").
  explicit TcpRelay(const std::string& target);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  /// "127.0.0.1:port": give this to the client as its seed.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// Clients accepted so far.
  std::size_t sessions() const;
  /// Everything client `session` (0 = the first) sent towards the target.
  std::string client_bytes(std::size_t session) const;
  /// True once both directions of `session` have ended.
  bool finished(std::size_t session) const;

 private:
  struct Session {
    int client = -1;
    int server = -1;
    bool client_open = true;  ///< still reading from the client
    bool server_open = true;  ///< still reading from the server
    std::string recorded;     ///< client -> server bytes
  };
  void run();
  void accept_one();
  /// Moves what `from` has to `to`; false once `from` ended.
  bool forward(int from, int to, std::string* record);

  int listener_ = -1;
  int wake_[2] = {-1, -1};  ///< a pipe: the destructor writes to stop run()
  int port_ = 0;
  std::string target_;
  mutable std::mutex mutex_;  ///< guards sessions_
  std::vector<Session> sessions_;
  std::thread thread_;
};

}  // namespace flytest
