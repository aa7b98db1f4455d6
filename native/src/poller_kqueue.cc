// kqueue (macOS / BSD) behind the same interface: EV_CLEAR gives edge-triggered
// reports. Built on macOS; on Linux, test/net/native-build.test.ts compiles it against
// libkqueue (a kqueue emulation) where that is installed, and drives it over sockets.
#include "poller.h"

#include <sys/event.h>
#include <unistd.h>
#include <cerrno>

namespace conduit {

int Poller::Create() {
  int q = kqueue();
  return q < 0 ? -errno : q;
}

int Poller::Add(int q, int fd, bool writable) {
  struct kevent ch[2];
  int n = 0;
  EV_SET(&ch[n++], fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  if (writable) EV_SET(&ch[n++], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  return kevent(q, ch, n, nullptr, 0, nullptr) < 0 ? -errno : 0;
}

int Poller::Want(int q, int fd, bool writable) {
  struct kevent ch;
  // (EV_ADD on a filter already there re-checks it: a socket already writable is
  // reported at once, as epoll's MOD does)
  EV_SET(&ch, fd, EVFILT_WRITE, writable ? (EV_ADD | EV_CLEAR) : EV_DELETE, 0, 0, nullptr);
  if (kevent(q, &ch, 1, nullptr, 0, nullptr) == 0) return 0;
  // Deleting a filter that is not there (writability never asked for) leaves it off, as
  // wanted; any other failure (a descriptor closed or not watched) is the caller's to see.
  return !writable && errno == ENOENT ? 0 : -errno;
}

int Poller::Remove(int q, int fd) {
  struct kevent ch[2];
  EV_SET(&ch[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  EV_SET(&ch[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  kevent(q, ch, 2, nullptr, 0, nullptr);  // a filter that was never added is not an error here
  return 0;
}

int Poller::Collect(int q, Ready* out, int max) {
  struct kevent evs[256];
  if (max > 256) max = 256;
  struct timespec zero = {0, 0};
  int n = kevent(q, nullptr, 0, evs, max, &zero);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  // kqueue reports each filter (read, write) of a descriptor apart; epoll, and the JS
  // side, have one entry per descriptor: the filters' reports are merged.
  int count = 0;
  for (int i = 0; i < n; i++) {
    int32_t e = 0;
    if (evs[i].flags & EV_ERROR) {
      e = ERROR;  // (the filter failed, it did not fire: `data` holds the errno)
    } else {
      if (evs[i].filter == EVFILT_READ) e |= READABLE;
      if (evs[i].filter == EVFILT_WRITE) e |= WRITABLE;
      // At EOF, fflags holds the socket's pending error (a reset), which epoll reports
      // as EPOLLERR.
      if (evs[i].flags & EV_EOF) e |= evs[i].fflags != 0 ? (HANGUP | ERROR) : HANGUP;
    }
    int32_t fd = static_cast<int32_t>(evs[i].ident);
    int j = 0;
    while (j < count && out[j].fd != fd) j++;
    if (j == count) out[count++] = Ready{fd, 0};
    out[j].events |= e;
  }
  return count;
}

}  // namespace conduit
