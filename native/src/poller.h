// One small interface over epoll (Linux, poller_epoll.cc) and kqueue (macOS,
// poller_kqueue.cc): edge-triggered readiness for listening and connected sockets.
#pragma once
#include <cstdint>

namespace conduit {

// Readiness bits reported per descriptor.
enum : int32_t { READABLE = 1, WRITABLE = 2, HANGUP = 4, ERROR = 8 };

struct Ready {
  int32_t fd;
  int32_t events;
};

class Poller {
 public:
  // Returns the kernel queue descriptor, or -errno.
  static int Create();
  // Watches fd (edge-triggered). writable: also report when it can be written.
  static int Add(int q, int fd, bool writable);
  static int Remove(int q, int fd);
  // Changes whether fd's writability is reported (only wanted while output waits).
  static int Want(int q, int fd, bool writable);
  // Collects up to max ready descriptors without blocking; returns the count or -errno.
  static int Collect(int q, Ready* out, int max);
};

}  // namespace conduit
