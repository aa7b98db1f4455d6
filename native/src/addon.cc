// Conduit's native transport: sockets whose readiness comes from an edge-triggered
// epoll (kqueue on macOS) queue, itself watched by one libuv poll handle so that it runs
// inside Node's event loop (no thread, no busy polling). Bytes are read straight into,
// and written straight from, the WASM core's memory: JS hands that memory over once
// (it never grows, so the pointer stays valid).
//
// Readiness reaches JS in batches: one call per loop turn with (fd, events) pairs in an
// Int32Array shared with JS.
//
// Errors: NAPI_DISABLE_CPP_EXCEPTIONS; socket calls return -errno, setup failures and
// arguments of the wrong type throw (a TypeError naming the argument, never an abort).

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>

#include "poller.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0  // (macOS: each socket gets SO_NOSIGPIPE instead)
#endif

// accept4() and the SOCK_NONBLOCK / SOCK_CLOEXEC flags are Linux's (macOS has neither):
// elsewhere the flags are set with fcntl() after socket() / accept(). A Linux build with
// CONDUIT_NO_ACCEPT4 takes that path too, so that it is compiled (and tested) here.
#if defined(__linux__) && !defined(CONDUIT_NO_ACCEPT4)
#define CONDUIT_HAVE_ACCEPT4 1
#endif

namespace conduit {

constexpr int kMaxEvents = 256;

class Transport;

// The libuv poll handle, apart from the Transport: its close completes on a later loop
// turn, when the Transport may be gone, and it may be what a worker's teardown waits for.
struct PollBox {
  uv_poll_t poll;
  Transport* owner;                              // null once the Transport is gone
  napi_async_cleanup_hook_handle done = nullptr;  // teardown waiting for the close
};
static_assert(offsetof(PollBox, poll) == 0, "OnClosed finds the box from its handle");
// Buffers one writev() gathers (IOV_MAX is 1024 on Linux and macOS).
#ifdef IOV_MAX
constexpr int kMaxIov = IOV_MAX < 1024 ? IOV_MAX : 1024;
#else
constexpr int kMaxIov = 1024;
#endif

class Transport : public Napi::ObjectWrap<Transport> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    // (read, writeBuffer, writev and wantWritable are not here: see BindHot)
    Napi::Function ctor = DefineClass(env, "Transport", {
      InstanceMethod("setMemory", &Transport::SetMemory),
      InstanceMethod("listen", &Transport::Listen),
      InstanceMethod("localPort", &Transport::LocalPort),
      InstanceMethod("accept", &Transport::Accept),
      InstanceMethod("write", &Transport::Write),
      InstanceMethod("shutdown", &Transport::Shutdown),
      InstanceMethod("discard", &Transport::Discard),
      InstanceMethod("close", &Transport::Close),
      InstanceMethod("destroy", &Transport::Destroy),
    });
    exports.Set("Transport", ctor);
    exports.Set("EAGAIN", Napi::Number::New(env, EAGAIN));
    exports.Set("ECONNABORTED", Napi::Number::New(env, ECONNABORTED));
    exports.Set("EINTR", Napi::Number::New(env, EINTR));
    // (the numbers differ between Linux and macOS: JS compares with these, never literals)
    exports.Set("EADDRINUSE", Napi::Number::New(env, EADDRINUSE));
    exports.Set("EADDRNOTAVAIL", Napi::Number::New(env, EADDRNOTAVAIL));
    exports.Set("EACCES", Napi::Number::New(env, EACCES));
    exports.Set("EPIPE", Napi::Number::New(env, EPIPE));
    exports.Set("ECONNRESET", Napi::Number::New(env, ECONNRESET));
    exports.Set("READABLE", Napi::Number::New(env, READABLE));
    exports.Set("WRITABLE", Napi::Number::New(env, WRITABLE));
    exports.Set("HANGUP", Napi::Number::New(env, HANGUP));
    exports.Set("ERROR", Napi::Number::New(env, ERROR));
    exports.Set("MAX_EVENTS", Napi::Number::New(env, kMaxEvents));
    exports.Set("MAX_IOV", Napi::Number::New(env, kMaxIov));
    return exports;
  }

  // new Transport(onReady: (count: number) => void)
  explicit Transport(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Transport>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "Transport(onReady): onReady must be a function").ThrowAsJavaScriptException();
      return;
    }
    onReady_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = new Napi::AsyncContext(env, "conduit.transport");
    queue_ = Poller::Create();
    if (queue_ < 0) {
      Napi::Error::New(env, std::string("cannot create the readiness queue: ") + strerror(-queue_)).ThrowAsJavaScriptException();
      return;
    }
    NewEvents(env, info.This().As<Napi::Object>());
    reserve_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    box_ = new PollBox();
    box_->owner = this;
    box_->poll.data = this;
    if (uv_poll_init(loop, &box_->poll, queue_) != 0) {
      // (libuv never took the handle: nothing to uv_close, but our descriptors are ours to
      // close, or each failed construction would leak two)
      delete box_;
      box_ = nullptr;
      CloseQueue();
      Napi::Error::New(env, "cannot watch the readiness queue").ThrowAsJavaScriptException();
      return;
    }
    if (uv_poll_start(&box_->poll, UV_READABLE, OnPoll) != 0) {
      Teardown();  // (closes the handle, the queue and the reserve descriptor)
      Napi::Error::New(env, "cannot watch the readiness queue").ThrowAsJavaScriptException();
      return;
    }
    BindHot(env, info.This().As<Napi::Object>());
    Ref();  // alive until destroy(): libuv holds a pointer to us
    // An async hook: at a worker's teardown the poll handle's close must complete while
    // this library is still loaded (its close callback is our code).
    napi_add_async_cleanup_hook(env, OnEnvCleanup, this, &cleanupHook_);
  }

  ~Transport() override {
    if (cleanupHook_ != nullptr) napi_remove_async_cleanup_hook(cleanupHook_);
    if (closing_ != nullptr) closing_->owner = nullptr;
    if (box_ != nullptr) box_->owner = nullptr;  // (not reached: destroy() or teardown closed it)
    delete context_;
  }

 private:
  // The calls made per request (read, writeBuffer, writev, wantWritable) are own properties
  // of this object whose function data is this Transport, not InstanceMethods, whose
  // napi_unwrap looks up a private symbol on every call (~4% of the server's CPU in perf at
  // 60k req/s). They are reachable only through this object, so they cannot outlive it.
  template <Napi::Value (Transport::*M)(const Napi::CallbackInfo&)>
  static Napi::Value Hot(const Napi::CallbackInfo& info) {
    return (static_cast<Transport*>(info.Data())->*M)(info);
  }
  void BindHot(Napi::Env env, Napi::Object self) {
    self.Set("read", Napi::Function::New<Hot<&Transport::Read>>(env, "read", this));
    self.Set("writeBuffer", Napi::Function::New<Hot<&Transport::WriteBuffer>>(env, "writeBuffer", this));
    self.Set("writev", Napi::Function::New<Hot<&Transport::WriteV>>(env, "writev", this));
    self.Set("wantWritable", Napi::Function::New<Hot<&Transport::WantWritable>>(env, "wantWritable", this));
  }

  // The (fd, events) pairs JS reads: `this.events`, on a buffer of ours.
  void NewEvents(Napi::Env env, Napi::Object self) {
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, kMaxEvents * 2 * sizeof(int32_t));
    events_ = static_cast<int32_t*>(ab.Data());
    eventsRef_ = Napi::Persistent(ab);
    self.Set("events", Napi::Int32Array::New(env, kMaxEvents * 2, ab, 0));
  }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    Transport* self = static_cast<Transport*>(handle->data);
    if (self == nullptr || status < 0 || self->queue_ < 0) return;
    Ready ready[kMaxEvents];
    int n = Poller::Collect(self->queue_, ready, kMaxEvents);
    if (n <= 0) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    // A script that transferred (detached) `events` must not make us write into freed
    // memory: it gets a new buffer.
    if (self->eventsRef_.Value().IsDetached()) self->NewEvents(env, self->Value());
    for (int i = 0; i < n; i++) {
      self->events_[i * 2] = ready[i].fd;
      self->events_[i * 2 + 1] = ready[i].events;
    }
    // (more than kMaxEvents ready: the queue stays readable and libuv calls again)
    self->onReady_.MakeCallback(self->Value(), {Napi::Number::New(env, n)}, *self->context_);
  }

  // Where accept4() / SOCK_* flags are missing: the flags after the call (the close-on-exec
  // flag is then not atomic: a fork+exec on another thread in between could inherit fd).
  static int Nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  }
  static int CloseOnExec(int fd) {
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
  // fd, or -1 with errno after closing it when its flags cannot be set.
  static int WithFlags(int fd, bool nonblocking) {
    if (fd < 0) return fd;
    if (CloseOnExec(fd) < 0 || (nonblocking && Nonblocking(fd) < 0)) {
      int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
    return fd;
  }

  // A TCP socket, non-blocking and close-on-exec; -1 with errno.
  static int NewSocket(int family) {
#ifdef CONDUIT_HAVE_ACCEPT4
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    return WithFlags(socket(family, SOCK_STREAM, 0), true);
#endif
  }

  // A connection from the listener, close-on-exec (and non-blocking when asked); -1 with
  // errno (EINTR retried).
  static int AcceptOne(int lfd, bool nonblocking) {
    int fd;
#ifdef CONDUIT_HAVE_ACCEPT4
    do fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
    while (fd < 0 && errno == EINTR);
    return fd;
#else
    // (BSDs pass the listener's O_NONBLOCK on to the connection, Linux does not: set it)
    do fd = accept(lfd, nullptr, nullptr);
    while (fd < 0 && errno == EINTR);
    return WithFlags(fd, nonblocking);
#endif
  }

  // An integer argument in [min, max], or a TypeError naming it (and false).
  static bool IntArg(const Napi::CallbackInfo& info, size_t i, const char* what, double min, double max, int64_t* out) {
    double d;
    // (one call: it fails for a value that is not a number; this runs on every read/write)
    if (i < info.Length() && napi_get_value_double(info.Env(), info[i], &d) == napi_ok &&
        std::isfinite(d) && d == std::floor(d) && d >= min && d <= max) {
      *out = static_cast<int64_t>(d);
      return true;
    }
    Napi::TypeError::New(info.Env(), std::string(what) + " must be an integer in [" + std::to_string(static_cast<int64_t>(min)) + ", " +
                                         std::to_string(static_cast<int64_t>(max)) + "]").ThrowAsJavaScriptException();
    return false;
  }
  static bool FdArg(const Napi::CallbackInfo& info, size_t i, int* fd) {
    int64_t v;
    if (!IntArg(info, i, "fd", 0, INT_MAX, &v)) return false;
    *fd = static_cast<int>(v);
    return true;
  }
  // An offset and a length into the memory, or a TypeError (and false).
  static bool SpanArgs(const Napi::CallbackInfo& info, int64_t* off, int64_t* len) {
    return IntArg(info, 1, "offset", 0, 9007199254740991.0, off) && IntArg(info, 2, "length", 0, 9007199254740991.0, len);
  }

  // setMemory(u8: Uint8Array): where read()/write() offsets point (the WASM memory). It
  // must be shared memory (a WebAssembly.Memory made with shared: true): a plain
  // ArrayBuffer can be detached, which would leave us a pointer into freed memory.
  Napi::Value SetMemory(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    napi_typedarray_type type;
    napi_value buffer = nullptr;
    bool plain = true;
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        napi_get_typedarray_info(env, info[0], &type, nullptr, nullptr, &buffer, nullptr) != napi_ok || type != napi_uint8_array ||
        napi_is_arraybuffer(env, buffer, &plain) != napi_ok || plain) {
      Napi::TypeError::New(env, "setMemory(u8): a Uint8Array over shared memory (a SharedArrayBuffer) is required").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array u8 = info[0].As<Napi::Uint8Array>();
    memory_ = u8.Data();
    memoryLen_ = u8.ByteLength();
    memoryRef_ = Napi::Persistent(u8.As<Napi::Object>());
    return info.Env().Undefined();
  }

  // listen(host, port, backlog, reusePort) → fd; throws with the reason (address in use, ...).
  // reusePort (SO_REUSEPORT) lets several listeners share the port, one per worker:
  //   false / absent: exclusive: a port already taken (by anyone) is refused, as a user expects.
  //   true:   join: SO_REUSEPORT before bind, so the bind joins listeners that share the port.
  //   'lead': the first of a group: bound WITHOUT SO_REUSEPORT, so that a port anybody holds
  //           (another server's reuseport group included) is refused with EADDRINUSE rather
  //           than silently shared; SO_REUSEPORT is set only once the bind succeeded, so
  //           that the other workers (same user) can then join with `true`.
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "listen(host, port, backlog): host must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string host = info[0].As<Napi::String>().Utf8Value();
    int64_t port, backlog;
    if (!IntArg(info, 1, "port", 0, 65535, &port) || !IntArg(info, 2, "backlog", 1, 65535, &backlog)) return env.Undefined();
    enum { kExclusive, kJoin, kLead } mode = kExclusive;
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      if (info[3].IsBoolean()) {
        mode = info[3].As<Napi::Boolean>().Value() ? kJoin : kExclusive;
      } else if (info[3].IsString() && info[3].As<Napi::String>().Utf8Value() == "lead") {
        mode = kLead;
      } else {
        Napi::TypeError::New(env, "listen(host, port, backlog, reusePort): reusePort must be a boolean or 'lead'").ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    sockaddr_storage ss{};
    socklen_t len;
    int family;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
      family = AF_INET;
      a4->sin_family = AF_INET;
      a4->sin_port = htons(static_cast<uint16_t>(port));
      len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
      family = AF_INET6;
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(static_cast<uint16_t>(port));
      len = sizeof(sockaddr_in6);
    } else {
      Napi::Error::New(env, "listen: not an IPv4 or IPv6 address: " + host).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int fd = NewSocket(family);
    if (fd < 0) return Fail(env, "socket", errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#ifdef SO_REUSEPORT
    if (mode == kJoin) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
#endif
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      int e = errno;
      ::close(fd);
      return Fail(env, "listen on " + host + ":" + std::to_string(port), e);
    }
#ifdef SO_REUSEPORT
    // (Linux checks a joiner's bind against the flags the holders have then, and groups
    // listeners when they listen(): set before listen(), this lets the workers in.)
    if (mode == kLead && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
      int e = errno;
      ::close(fd);
      return Fail(env, "SO_REUSEPORT on " + host + ":" + std::to_string(port), e);
    }
#endif
    if (listen(fd, static_cast<int>(backlog)) < 0) {
      int e = errno;
      ::close(fd);
      return Fail(env, "listen on " + host + ":" + std::to_string(port), e);
    }
    int r = Poller::Add(queue_, fd, false);
    if (r < 0) {
      ::close(fd);
      return Fail(env, "watch listener", -r);
    }
    fds_.insert(fd);
    return Napi::Number::New(env, fd);
  }

  Napi::Value Fail(Napi::Env env, const std::string& what, int e) {
    Napi::Error err = Napi::Error::New(env, what + ": " + strerror(e));
    err.Set("errno", Napi::Number::New(env, e));
    err.ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value LocalPort(const Napi::CallbackInfo& info) {
    int fd;
    if (!FdArg(info, 0, &fd)) return info.Env().Undefined();
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Napi::Number::New(info.Env(), -errno);
    int port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return Napi::Number::New(info.Env(), port);
  }

  // accept(listenFd) → fd (non-blocking, TCP_NODELAY, watched for reads), or -errno (-EAGAIN: none).
  // Out of descriptors (EMFILE/ENFILE), a pending connection would stay queued and, on an
  // edge-triggered listener, never be reported again: the reserve descriptor is freed to
  // take it and close it (the client sees a reset), then kept again (libuv's trick); the
  // result is then -ECONNABORTED (one dropped: accept again).
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    int lfd;
    if (!FdArg(info, 0, &lfd)) return info.Env().Undefined();
    int fd = AcceptOne(lfd, true);
    if (fd < 0) {
      int e = errno;
      if ((e == EMFILE || e == ENFILE) && reserve_ >= 0) {
        ::close(reserve_);
        reserve_ = -1;
        int dropped = AcceptOne(lfd, false);
        if (dropped >= 0) ::close(dropped);
        reserve_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return Napi::Number::New(info.Env(), dropped >= 0 ? -ECONNABORTED : -e);
      }
      return Napi::Number::New(info.Env(), -e);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef SO_NOSIGPIPE
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));  // (no MSG_NOSIGNAL there)
#endif
    // Writability is reported only while output waits (wantWritable): most writes fit.
    int r = Poller::Add(queue_, fd, false);
    if (r < 0) {
      ::close(fd);
      return Napi::Number::New(info.Env(), r);
    }
    fds_.insert(fd);
    return Napi::Number::New(info.Env(), fd);
  }

  // wantWritable(fd, on): report (or stop reporting) when fd can be written.
  Napi::Value WantWritable(const Napi::CallbackInfo& info) {
    int fd;
    if (!FdArg(info, 0, &fd)) return info.Env().Undefined();
    bool on = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    return Napi::Number::New(info.Env(), Poller::Want(queue_, fd, on));
  }

  // A read/write count, or -errno, as a small integer where it fits (napi_create_int32: a
  // Smi, no heap number; napi_create_double boxed one per call: ~1.5% of the server's CPU).
  static Napi::Value IoResult(napi_env env, ssize_t n) {
    napi_value v;
    if (n < 0) napi_create_int32(env, -errno, &v);
    else if (n <= INT32_MAX) napi_create_int32(env, static_cast<int32_t>(n), &v);
    else napi_create_double(env, static_cast<double>(n), &v);
    return Napi::Value(env, v);
  }

  bool InMemory(int64_t off, int64_t len) const {
    return memory_ != nullptr && off >= 0 && len >= 0 && static_cast<uint64_t>(off + len) <= memoryLen_;
  }

  // read(fd, offset, len) → bytes read into memory[offset..], 0 at EOF, or -errno.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    int fd;
    int64_t off, len;
    if (!FdArg(info, 0, &fd) || !SpanArgs(info, &off, &len)) return info.Env().Undefined();
    if (!InMemory(off, len)) return Napi::Number::New(info.Env(), -EFAULT);
    ssize_t n;
    do n = ::read(fd, memory_ + off, static_cast<size_t>(len));
    while (n < 0 && errno == EINTR);
    return IoResult(info.Env(), n);
  }

  // write(fd, offset, len) → bytes written from memory[offset..], or -errno.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    int fd;
    int64_t off, len;
    if (!FdArg(info, 0, &fd) || !SpanArgs(info, &off, &len)) return info.Env().Undefined();
    if (!InMemory(off, len)) return Napi::Number::New(info.Env(), -EFAULT);
    ssize_t n;
    do n = ::send(fd, memory_ + off, static_cast<size_t>(len), MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return IoResult(info.Env(), n);
  }

  // writeBuffer(fd, u8) → bytes written from a JS buffer, or -errno.
  Napi::Value WriteBuffer(const Napi::CallbackInfo& info) {
    int fd;
    if (!FdArg(info, 0, &fd)) return info.Env().Undefined();
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    // (one call for the check and the bytes: napi_get_typedarray_info fails for anything else)
    if (info.Length() < 2 || napi_get_typedarray_info(info.Env(), info[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      Napi::TypeError::New(info.Env(), "writeBuffer(fd, bytes): bytes must be a Uint8Array").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    ssize_t n;
    do n = ::send(fd, data, length, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return IoResult(info.Env(), n);
  }

  // writev(fd, buffers) → bytes written from the Uint8Arrays in order, gathered in one
  // syscall (the first MAX_IOV of them), or -errno. A short count ends inside a buffer:
  // the caller goes on from there.
  Napi::Value WriteV(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd;
    if (!FdArg(info, 0, &fd)) return env.Undefined();
    if (info.Length() < 2 || !info[1].IsArray()) {
      Napi::TypeError::New(env, "writev(fd, buffers): buffers must be an array of Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    napi_value list = info[1];
    uint32_t count = 0;
    napi_get_array_length(env, list, &count);  // (an Array: no JS runs)
    if (count > static_cast<uint32_t>(kMaxIov)) count = kMaxIov;
    // Two passes. Reading an element can run JS (a getter on the array, or on its
    // prototype for a hole), which can throw, or detach or shrink the buffer of an element
    // read before it: so every element is fetched and checked first, and the views'
    // pointers and lengths are taken only after that, when no JS can run any more.
    napi_value items[kMaxIov];
    for (uint32_t i = 0; i < count; i++) {
      napi_typedarray_type type;
      if (napi_get_element(env, list, i, &items[i]) != napi_ok) {
        // A getter threw: its exception is pending and is what the caller sees (a second
        // throw on top of it would be a fatal error).
        if (!env.IsExceptionPending()) {
          Napi::TypeError::New(env, "writev(fd, buffers): cannot read buffers[" + std::to_string(i) + "]").ThrowAsJavaScriptException();
        }
        return env.Undefined();
      }
      if (napi_get_typedarray_info(env, items[i], &type, nullptr, nullptr, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
        Napi::TypeError::New(env, "writev(fd, buffers): buffers must be an array of Uint8Array").ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    iovec iov[kMaxIov];
    for (uint32_t i = 0; i < count; i++) {
      napi_typedarray_type type;
      size_t length = 0;
      void* data = nullptr;
      napi_get_typedarray_info(env, items[i], &type, &length, &data, nullptr, nullptr);
      // (already at the view's first byte; a detached view has length 0 and no data)
      iov[i].iov_base = data;
      iov[i].iov_len = data != nullptr ? length : 0;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n;
    do n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);  // (writev, without SIGPIPE)
    while (n < 0 && errno == EINTR);
    return IoResult(env, n);
  }

  // shutdown(fd) → 0 or -errno: sends our FIN (shutdown SHUT_WR) and keeps the socket
  // readable. For a lingering close (nginx's lingering_close): close() with input still
  // unread makes the kernel send a reset, which can destroy a response the client has not
  // read yet; so the server half-closes, drops what still arrives (discard) until the
  // client's EOF or a deadline, then closes. Only descriptors this transport opened.
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    int fd;
    if (!FdArg(info, 0, &fd)) return info.Env().Undefined();
    if (fds_.count(fd) == 0) return Napi::Number::New(info.Env(), -EBADF);
    return Napi::Number::New(info.Env(), ::shutdown(fd, SHUT_WR) < 0 ? -errno : 0);
  }

  // discard(fd, max) → reads and drops up to max bytes (until EAGAIN, EOF or max):
  //   > 0      the bytes dropped (EOF or an error may have come after them: the next call
  //            reports it, so call again until the result is <= 0, as with read());
  //   0        EOF: the peer has closed and nothing was dropped by this call;
  //   -errno   nothing was dropped: -EAGAIN when nothing waits, else the error.
  // Only descriptors this transport opened (-EBADF otherwise): a stale number must not
  // eat another's input.
  Napi::Value Discard(const Napi::CallbackInfo& info) {
    int fd;
    int64_t max;
    if (!FdArg(info, 0, &fd) || !IntArg(info, 1, "max", 1, 9007199254740991.0, &max)) return info.Env().Undefined();
    if (fds_.count(fd) == 0) return Napi::Number::New(info.Env(), -EBADF);
    // (the transport's own scratch, not the WASM memory: these bytes are nobody's)
    if (scratch_ == nullptr) scratch_.reset(new uint8_t[kScratch]);
    int64_t dropped = 0;
    while (dropped < max) {
      size_t want = static_cast<size_t>(max - dropped < kScratch ? max - dropped : kScratch);
      ssize_t n = ::read(fd, scratch_.get(), want);
      if (n > 0) {
        dropped += n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (dropped > 0) break;
      return Napi::Number::New(info.Env(), n == 0 ? 0 : -errno);
    }
    return Napi::Number::New(info.Env(), static_cast<double>(dropped));
  }

  // close(fd): stops watching it and closes it.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    int fd;
    if (!FdArg(info, 0, &fd)) return info.Env().Undefined();
    // Only descriptors this transport opened (a stale number must not close another's).
    if (fds_.erase(fd) == 0) return Napi::Number::New(info.Env(), -EBADF);
    if (queue_ >= 0) Poller::Remove(queue_, fd);
    return Napi::Number::New(info.Env(), ::close(fd) < 0 ? -errno : 0);
  }

  // destroy(): stops the poll handle and closes the queue (sockets are the caller's).
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (box_ != nullptr) {
      Teardown();
      memoryRef_.Reset();
      memory_ = nullptr;  // (read()/write() now answer -EFAULT, not into freed memory)
      memoryLen_ = 0;
      Unref();
    }
    return info.Env().Undefined();
  }

  // Stops watching and closes the queue. Sockets stay open (the caller closes them),
  // except at environment teardown, where CloseAll() runs first.
  void Teardown() {
    if (box_ == nullptr) return;
    uv_poll_stop(&box_->poll);
    box_->poll.data = nullptr;
    closing_ = box_;
    box_ = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&closing_->poll), OnClosed);
    CloseQueue();
  }

  void CloseQueue() {
    if (queue_ >= 0) ::close(queue_);
    queue_ = -1;
    if (reserve_ >= 0) ::close(reserve_);
    reserve_ = -1;
  }

  // A worker thread that ends (or crashes) must not leave its sockets open: descriptors
  // belong to the whole process, and a listener left behind would keep receiving
  // connections (SO_REUSEPORT) that nobody accepts.
  static void OnEnvCleanup(napi_async_cleanup_hook_handle hook, void* arg) {
    Transport* self = static_cast<Transport*>(arg);
    self->cleanupHook_ = nullptr;  // (used: removed below or when the close completes)
    for (int fd : self->fds_) ::close(fd);
    self->fds_.clear();
    self->Teardown();
    if (self->closing_ != nullptr) self->closing_->done = hook;  // finished in OnClosed
    else napi_remove_async_cleanup_hook(hook);
  }

  static void OnClosed(uv_handle_t* h) {
    PollBox* box = reinterpret_cast<PollBox*>(h);  // (poll is its first member)
    if (box->owner != nullptr && box->owner->closing_ == box) box->owner->closing_ = nullptr;
    if (box->done != nullptr) napi_remove_async_cleanup_hook(box->done);
    delete box;
  }

  int queue_ = -1;
  /** A descriptor kept in reserve for accepting (and dropping) a connection at EMFILE. */
  int reserve_ = -1;
  PollBox* box_ = nullptr;      // watching
  PollBox* closing_ = nullptr;  // closed, its close not yet complete
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  int32_t* events_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> eventsRef_;
  Napi::FunctionReference onReady_;
  Napi::AsyncContext* context_ = nullptr;
  uint8_t* memory_ = nullptr;
  size_t memoryLen_ = 0;
  Napi::ObjectReference memoryRef_;
  std::unordered_set<int> fds_;
  static constexpr int64_t kScratch = 64 * 1024;
  std::unique_ptr<uint8_t[]> scratch_;  // where discard() drops bytes (made on first use)
};

}  // namespace conduit

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return conduit::Transport::Init(env, exports);
}

NODE_API_MODULE(conduit_native, Init)
