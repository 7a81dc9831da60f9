// One TCP connection to another node, from handshake to close.
//
// Threading: every socket operation, timer and frame handler of a Peer runs
// on its strand (one I/O thread at a time). send() and close() may be called
// from any thread. Frames queued by send() while a write is in flight leave
// together in the next write: one syscall per batch, not per frame.
//
// Ownership: the Peer is held by shared_ptr — by the cluster's tables, by
// in-flight async operations, and by callers routing a call to it. It calls
// its PeerEvents and CallHandler by reference: both must outlive every Peer
// (the node closes all peers and joins the I/O threads before destroying them).
//
// Reading: the strand waits for readability and reads with
// recv(2) itself, so that a blocking caller can take the read side while it
// waits for its reply (await_reply, leader/follower): the reply then wakes
// the caller directly, with no hop through an I/O thread. One reader at a
// time — the strand or one caller — owns rbuf_ (read_state_); a caller
// handles only REPLY frames of blocking calls and hands anything else back
// to the strand.
//
// TLS (PeerSettings::tls set): the TLS handshake runs first, on the strand,
// and only then HELLO/AUTH; handshake_timeout covers both. After it, TLS
// changes only what the bytes are: the socket carries records, the writer
// seals what it takes from out_ before writing (any thread), and the read
// side's owner opens what it reads before handling frames (strand or a
// leading caller) — TlsSession, whose mutex guards the SSL object. Both
// paths, callers' reads and senders' direct writes included, are the
// plaintext ones; a plaintext connection pays a branch on a member.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <shared_mutex>
#include <span>
#include <string_view>

#include <sys/types.h>
#include <string>

#include "fly/detail/buffer.hpp"
#include "fly/detail/function_ref.hpp"
#include "fly/detail/pending_call.hpp"
#include "net/call_table.hpp"
#include "net/peer_buffers.hpp"
#include "wire/frames.hpp"
#include "wire/handshake.hpp"

namespace fly::telemetry {
class NodeMetrics;
}

namespace fly::net {

class HeartbeatSweep;
class Peer;
class TlsContext;
class TlsSession;

/// How a connection ended, for the cluster's bookkeeping and logs.
struct CloseInfo {
  std::string reason;  ///< one line: "heartbeat timeout", "bad cookie", ...
  bool authenticated = false;
  std::optional<wire::RefuseReason> refused_by_peer;  ///< the peer sent REFUSE
  std::optional<wire::RefuseReason> refused_by_us;    ///< we sent REFUSE
};

/// Membership side of a connection (the cluster layer). Called on the peer's strand.
class PeerEvents {
 public:
  virtual ~PeerEvents() = default;
  /// Both proofs checked... by us: the peer knows the cookie.
  virtual void on_authenticated(const std::shared_ptr<net::Peer>& peer) = 0;
  /// ANNOUNCE, ACTIVATE, PEERS, GOODBYE after authentication.
  virtual void on_control_frame(const std::shared_ptr<net::Peer>& peer,
                                const wire::FrameView& frame) = 0;
  /// Exactly once per started Peer, after its pending calls were failed.
  virtual void on_closed(const std::shared_ptr<net::Peer>& peer, const CloseInfo& info) = 0;
};

/// Call side of a connection (the rpc layer). Called on the peer's strand.
class CallHandler {
 public:
  virtual ~CallHandler() = default;
  virtual void on_call(const std::shared_ptr<net::Peer>& peer, const wire::CallView& call) = 0;
  virtual void on_cancel(const std::shared_ptr<net::Peer>& peer, std::uint64_t request_id) = 0;
  /// An authenticated connection ended (closed, reset, heartbeat timeout,
  /// GOODBYE): the calls it brought have no one left to reply to. Called
  /// once, on the strand, after the last on_call/on_cancel for `peer`.
  virtual void on_connection_closed(const std::shared_ptr<net::Peer>& peer,
                                    const std::string& reason) = 0;
  /// Whether a call `peer` brought is queued or running here. Any thread;
  /// not on the call path (the idle check of lazy connections).
  virtual bool serving(const net::Peer& /*peer*/) const { return false; }
};

struct PeerSettings {
  std::string cookie;
  wire::Hello hello;  ///< ours; the nonce is filled in per connection
  std::size_t max_frame_size = wire::kDefaultMaxFrameSize;
  std::chrono::milliseconds heartbeat_interval{2000};
  std::chrono::milliseconds heartbeat_timeout{4500};
  std::chrono::milliseconds handshake_timeout{5000};
  bool verbose = false;  ///< log RESP lines (NodeOptions::verbose_logging)
  /// Also counts every byte read and written here (two relaxed atomic adds
  /// per read/write completion). Null: not counted. Must outlive the Peer.
  telemetry::NodeMetrics* metrics = nullptr;
  /// TLS for this connection (net/tls.hpp); null: plaintext. Shared by every
  /// peer of the node.
  std::shared_ptr<TlsContext> tls;
  /// The node's heartbeat sweep, which an authenticated connection joins
  /// (net/heartbeat_sweep.hpp). Null: the connection's own timer keeps
  /// ticking. Must outlive the Peer.
  net::HeartbeatSweep* heartbeat = nullptr;
};

class Peer : public std::enable_shared_from_this<Peer> {
 public:
  using Clock = std::chrono::steady_clock;

  /// `dialed_address` is the "host:port" we dialed ("" for an accepted one).
  Peer(asio::ip::tcp::socket socket, net::PeerSettings settings, net::PeerEvents& events,
       net::CallHandler& calls, std::string dialed_address);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  /// Sends HELLO and starts reading. Call once.
  void start();

  /// Appends one or more whole frames with `fill(Buffer&)` and schedules a
  /// write. Thread-safe. False (nothing sent) if the connection is closed.
  /// If `fill` throws, what it appended is dropped and the exception passes.
  template <class Fill>
  bool send(Fill&& fill) {
    std::unique_lock lock(out_mutex_);
    if (out_closed_) return false;
    const std::size_t before = out_.size();
    try {
      fill(out_);
    } catch (...) {
      out_.resize(before);
      throw;
    }
    if (writing_) return true;  // the writer in charge takes these bytes too
    // Nothing is being written: this thread becomes the writer.
    writing_ = true;
    // Inside an I/O thread's batch of frames (replies sent by inline
    // handlers, calls started by async completions): write once, when the
    // batch ends, rather than once per frame.
    if (defer_to_read_batch()) return true;
    // Otherwise write at once; only what the socket does not take now hops
    // to the strand. Senders that come meanwhile append to out_ without
    // waiting for the system call (nor for the sealing, with TLS).
    take_queued();  // into buffers that belong to whoever is the writer
    lock.unlock();
    write_as_sender();
    return true;
  }

  // ---- call operations: the node and rpc layers never see a frame layout ----

  /// Registers `call` in calls() (setting call.request_id, function_name and,
  /// unless the caller did, sent_at) and sends its CALL: `timeout` (clamped to u32 ms, 0 = none),
  /// `function`, then the arguments `encode_args` appends (one msgpack array).
  /// Throws BadArguments if the CALL would exceed max_frame_size; a throw from
  /// `encode_args` or that check takes the call back out of the table first.
  /// On a closed connection the call fails with node_down instead (no throw).
  /// A call with a `deadline` (async) is timed out by the connection: taken
  /// back, CANCEL sent, failed with Errc::timeout (peer_deadlines.cpp).
  /// Any thread. `function` must outlive the call. Logs a SEND line when verbose.
  void send_call(detail::PendingCall& call, std::string_view function,
                 std::chrono::milliseconds timeout,
                 detail::FunctionRef<void(detail::Buffer&)> encode_args);

  /// Takes `call` back (a timeout, an abandoned wait) and sends CANCEL. True
  /// if it was still waiting; false if a reply or the connection's end is
  /// completing it right now (then nothing is sent). Any thread.
  bool withdraw_call(detail::PendingCall& call) {
    if (calls_.take(call.request_id) == nullptr) return false;
    const std::uint64_t id = call.request_id;
    send([&](detail::Buffer& out) { wire::encode_cancel(out, id); });
    return true;
  }

  /// Sends a REPLY with `status` and an error body of `strings` (none: empty
  /// body; long strings are truncated, see wire::encode_reply_strings). Any thread.
  void send_reply(std::uint64_t request_id, Errc status,
                  std::initializer_list<std::string_view> strings) {
    send([&](detail::Buffer& out) {
      const std::size_t start = wire::begin_reply(out, request_id, status);
      if (strings.size() != 0) wire::encode_reply_strings(out, strings);
      wire::end_frame(out, start);
    });
  }

  /// Sends an ok REPLY whose body is `result` (the encoded return value). The
  /// caller checks result.size() + wire::kReplyOverhead against the peer's
  /// max_frame_size first. Any thread.
  void send_result(std::uint64_t request_id, std::span<const char> result) {
    send([&](detail::Buffer& out) {
      const std::size_t start = wire::begin_reply(out, request_id, Errc::ok);
      out.write(result.data(), result.size());
      wire::end_frame(out, start);
    });
  }

  /// A blocking caller's wait for `done` (released by its call's completion)
  /// until `deadline`; false on timeout. Any thread but this peer's strand.
  /// If no one is reading the connection, the caller reads it itself: it
  /// polls the socket, completes the REPLYs of blocking calls it reads (its
  /// own and other callers'), and hands the read side back to the strand
  /// when its call is done, when it times out, or at the first frame of
  /// another kind (left for the strand to handle). Otherwise it waits on
  /// `done`. With TLS the caller also opens the records it reads. Cost when leading: ppoll + recv,
  /// no allocation.
  bool await_reply(std::binary_semaphore& done, Clock::time_point deadline);

  /// Closes now; pending calls fail with `code`. Thread-safe, idempotent.
  void close(std::string reason, Errc code = Errc::node_down);
  /// Closes once everything queued so far has been written (REFUSE, GOODBYE).
  void close_after_flush(std::string reason);

  /// Their HELLO (valid once authenticated).
  const wire::Hello& peer_hello() const noexcept { return handshake_.peer(); }
  bool authenticated() const noexcept { return authenticated_.load(std::memory_order_acquire); }
  bool outbound() const noexcept { return !dialed_address_.empty(); }
  const std::string& dialed_address() const noexcept { return dialed_address_; }
  /// "ip:port" of the other end, fixed at construction.
  const std::string& remote_address() const noexcept { return remote_address_; }
  /// Our local IP on this connection (for advertising a wildcard listener).
  const std::string& local_ip() const noexcept { return local_ip_; }
  std::uint64_t id() const noexcept { return id_; }

  net::CallTable& calls() noexcept { return calls_; }
  /// Smoothed round-trip time of calls on this connection, microseconds (0 = none yet).
  std::uint32_t srtt_us() const noexcept { return srtt_us_.load(std::memory_order_relaxed); }
  void record_rtt(Clock::duration rtt) noexcept;

  /// The heartbeat sweep's tick (any thread): closes the connection if
  /// nothing arrived for heartbeat_timeout, else sends a PING if nothing left
  /// for about heartbeat_interval (the first tick at least interval - tick/2
  /// after the last frame sent). False once the connection is closed.
  bool heartbeat(Clock::time_point now, Clock::duration tick);

  /// Bytes read on this connection so far (whether the peer ever spoke).
  std::uint64_t bytes_received() const noexcept {
    return bytes_received_.load(std::memory_order_relaxed);
  }

  /// Calls sent plus calls received on this connection so far: whether it
  /// carried calls since the last look (the idle check of lazy connections;
  /// heartbeats and gossip do not count). Any thread.
  std::uint64_t call_activity() const noexcept {
    return calls_.added() + calls_received_.load(std::memory_order_relaxed);
  }

 private:
  void schedule_write();
  /// The sender that became the writer: one non-blocking send(2) of wbuf_
  /// from the calling thread (one system call, no allocation, no thread
  /// hop). Whatever is left (a partial write, EAGAIN, frames queued
  /// meanwhile, or an error the strand's write then reports) passes to the
  /// strand with schedule_write().
  void write_as_sender();
  /// With out_mutex_ held and writing_ just set: if this thread is handling
  /// a batch of frames read from a connection (handle_buffered_frames), takes note of this
  /// peer for end_read_batch() and returns true. Thread-local, no lock.
  bool defer_to_read_batch();
  /// At the end of a batch of frames: writes what every deferred peer queued.
  void end_read_batch();
  /// The writer that deferred to a batch: swaps out_ into wbuf_ and writes.
  void flush_deferred();
  void note_sent(std::size_t n) noexcept;
  void do_write();
  /// Arms the wait for the socket's readability. Strand.
  void do_read();
  /// The socket is readable, or a caller handed the read side
  /// back (`left_by_caller`: with frames in rbuf_ it did not handle).
  void on_readable(bool left_by_caller);
  /// The owner of the read side (strand or caller): one non-blocking recv(2)
  /// into rbuf_'s free space (`room` bytes, at least read_chunk_), counted.
  /// Returns recv's result; errno is recv's when negative. TLS: receives
  /// into cin_ and opens the records into rbuf_; a failed session (or one
  /// that failed before) is -1 with errno EPROTO, its close_notify is 0
  /// (after the plaintext that came before it).
  ssize_t recv_into_rbuf(std::size_t& room);
  /// Counts `n` bytes just read into rbuf_ (by the strand or a caller).
  void note_received(std::size_t n) noexcept;
  /// Strand, owning the read side: handles every whole frame in rbuf_ and
  /// keeps the tail. False when reading must stop (closed, protocol error,
  /// refused handshake): the strand then keeps the read side for good.
  bool handle_buffered_frames();
  /// Drops the first `offset` bytes of rbuf_ (frames handled) and makes room
  /// for the frame that follows if its header is in.
  void consume_front(std::size_t offset);
  // Read-side ownership (read_state_). Callers only try; the strand, when a
  // caller owns it, leaves a note (kReadHandBack) and the caller posts
  // on_readable when it lets go.
  bool try_own_read_as_caller() noexcept;
  bool own_read_on_strand() noexcept;
  void release_read_as_caller(bool hand_back);
  struct LeadResult {
    bool done = false;       ///< `done` acquired
    bool hand_back = false;  ///< the strand must look at rbuf_ / the socket now
  };
  /// The leading caller's loop (await_reply). Holds fd_mutex_ shared.
  LeadResult lead_reads(std::binary_semaphore& done, Clock::time_point deadline);
  /// A leading caller: handles the REPLYs of blocking calls at the front of
  /// rbuf_. False at the first frame it must leave to the strand.
  bool handle_buffered_replies();
  /// Completes the call `reply` is for (any thread); `call` taken already.
  void complete_reply(detail::PendingCall& call, const wire::ReplyView& reply);
  /// A read (`reading`) or write failed: closes with its reason (for a TLS
  /// error, OpenSSL's, logged as a warning naming the remote address).
  void io_failed(bool reading, const std::error_code& ec);
  /// TLS: one step of the handshake that precedes HELLO (strand): writes
  /// our flight, reads theirs, until done; then hands the writer role (held
  /// since construction) to the strand's write chain and starts reading.
  void tls_handshake();
  void tls_handshake_failed(const std::error_code& ec);
  /// The writer, with out_mutex_ held: takes what senders queued — into
  /// wbuf_, or with TLS into plain_out_ to be sealed (seal_taken).
  void take_queued() noexcept { out_.swap(tls_ ? plain_out_ : wbuf_); }
  /// The writer, TLS: seals plain_out_ onto wbuf_. False if the session
  /// failed: the connection is then closed from the strand.
  bool seal_taken();
  bool handle_frame(const wire::FrameView& frame);  // false: stop reading
  bool handle_handshake_frame(const wire::FrameView& frame);
  bool handle_reply(const wire::FrameView& frame);  // false: protocol error
  void protocol_error(const std::string& what);
  void arm_timer();
  void on_tick();
  void do_close(net::CloseInfo info, Errc code);
  void send_raw(const detail::Buffer& frames);
  // Async calls' deadlines (peer_deadlines.cpp): one timer per connection,
  // set to the earliest deadline in the call table, not one per call.
  /// After registering a call with `deadline`: makes sure the sweep runs by
  /// then. Any thread; costs one atomic load unless `deadline` is the
  /// earliest yet (then a CAS and a post to the strand).
  void watch_deadline(Clock::time_point deadline);
  void arm_deadline_timer();  // strand
  void sweep_deadlines();     // strand

  using Strand = asio::strand<asio::io_context::executor_type>;

  asio::ip::tcp::socket socket_;
  /// The TLS session when TLS is on, else null; set at construction.
  /// Thread-safe (its own mutex); see the TLS paragraph at the top.
  std::unique_ptr<net::TlsSession> tls_;
  /// The socket's descriptor, for senders' direct writes and a leading
  /// caller's reads: used off the strand only under fd_mutex_ held shared
  /// while fd_closed_ is false (do_close shuts the socket down, which wakes a
  /// leading caller, then sets fd_closed_ and closes it under the exclusive
  /// lock), so no thread reaches a descriptor number the kernel has handed
  /// to another socket.
  const int fd_;
  std::shared_mutex fd_mutex_;
  bool fd_closed_ = false;
  Strand strand_;
  asio::steady_timer timer_;
  /// The deadline sweep's timer (strand) and the deadline it waits for
  /// (max: not waiting); deadline_due_ is the earliest deadline a sender
  /// asked for since the last sweep (any thread).
  asio::steady_timer deadline_timer_;
  Clock::time_point deadline_timer_at_ = Clock::time_point::max();
  std::atomic<Clock::rep> deadline_due_{Clock::time_point::max().time_since_epoch().count()};
  net::PeerSettings settings_;
  net::PeerEvents& events_;
  net::CallHandler& call_handler_;
  const std::string dialed_address_;
  std::string remote_address_;
  std::string local_ip_;
  const std::uint64_t id_;

  wire::Handshake handshake_;
  std::atomic<bool> authenticated_{false};
  net::CallTable calls_;

  /// Who reads: 0 = nobody (a wait may be armed), kReadOwned = the strand
  /// or a leading caller, plus kReadHandBack = the strand found a caller
  /// reading and waits for it to post on_readable. Acquire/release order
  /// rbuf_ between owners.
  static constexpr std::uint8_t kReadOwned = 1;
  static constexpr std::uint8_t kReadHandBack = 2;
  std::atomic<std::uint8_t> read_state_{0};
  /// A caller has read the socket since the strand last looked (on_readable).
  std::atomic<bool> caller_has_read_{false};
  /// A leading caller's read error (errno), for the strand's close reason.
  std::atomic<int> leader_errno_{0};
  detail::Buffer rbuf_;  // owned by whoever owns the read side
  /// TLS: records received, not yet opened (the handshake's, then the read
  /// side owner's, like rbuf_), and whether close_notify came.
  detail::Buffer cin_;
  bool tls_closed_ = false;
  /// The free space the next read asks for (net/peer_buffers.hpp): doubles
  /// from kFirstReadChunk to kReadChunk when a read fills what it had. The
  /// read side owner's, like rbuf_.
  std::size_t read_chunk_ = net::kFirstReadChunk;
  void grow_read_chunk() noexcept {
    if (read_chunk_ < net::kReadChunk) read_chunk_ *= 2;
  }

  // Strand-only state.
  bool wait_armed_ = false;       // plaintext: an async_wait for readability is out
  bool reading_stopped_ = false;  // see handle_buffered_frames
  detail::Buffer wbuf_;           // being written; owned by the writer (see writing_)
  detail::Buffer plain_out_;      // TLS: taken from out_, to be sealed; the writer's
  bool closed_ = false;
  bool tls_established_ = false;
  Clock::time_point started_at_;
  std::optional<wire::RefuseReason> refused_by_us_;

  // Shared with senders.
  std::mutex out_mutex_;
  detail::Buffer out_;  // queued for the next write
  /// Someone is the writer: a sender in write_as_sender() or the strand's
  /// do_write() chain. Only the writer touches wbuf_ and the socket's send
  /// side; ownership passes with schedule_write() and ends when the writer
  /// finds nothing left and clears this flag under out_mutex_.
  bool writing_ = false;
  bool out_closed_ = false;
  bool close_after_flush_ = false;
  std::string close_after_flush_reason_;

  /// When a frame last left (any thread writes it; the heartbeat reads it).
  std::atomic<Clock::rep> last_send_{0};
  /// When bytes last arrived (the strand or a leading caller writes it).
  std::atomic<Clock::rep> last_recv_{0};
  std::atomic<std::uint32_t> srtt_us_{0};
  std::atomic<std::uint64_t> bytes_received_{0};
  /// CALL frames received. Written by the owner of the read side only (one
  /// thread at a time): a plain store, no locked add.
  std::atomic<std::uint64_t> calls_received_{0};
};

}  // namespace fly::net
