// Ctrl-C for the demo. SIGINT and SIGTERM are blocked in the constructing
// thread — and so in every thread started after it, which is why the demo
// constructs this first — and read from a signalfd by one watcher thread,
// which calls `on_signal(signo)`. Nothing runs in signal-handler context, so
// the callback may lock, print and kill like any other code.
#pragma once

#include <functional>
#include <thread>

namespace flyrpc_cli {

class SignalWatcher {
 public:
  /// Blocks SIGINT and SIGTERM and starts watching. Throws std::runtime_error
  /// if the signalfd or eventfd cannot be created.
  explicit SignalWatcher(std::function<void(int)> on_signal);
  /// Stops the watcher thread. The signals stay blocked: a late Ctrl-C while
  /// the demo finishes its own clean-up is not lost, it is simply not acted on.
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void run();

  std::function<void(int)> on_signal_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: written by the destructor to end run()
  std::thread thread_;
};

}  // namespace flyrpc_cli
