// kqueue (macOS / BSD) behind the same interface: EV_CLEAR gives edge-triggered
// reports. Compiled on macOS only; this project's CI (Linux) cannot test it.
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
  EV_SET(&ch, fd, EVFILT_WRITE, writable ? (EV_ADD | EV_CLEAR) : EV_DELETE, 0, 0, nullptr);
  kevent(q, &ch, 1, nullptr, 0, nullptr);
  return 0;
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
  for (int i = 0; i < n; i++) {
    int32_t e = 0;
    if (evs[i].filter == EVFILT_READ) e |= READABLE;
    if (evs[i].filter == EVFILT_WRITE) e |= WRITABLE;
    if (evs[i].flags & EV_EOF) e |= HANGUP;
    if (evs[i].flags & EV_ERROR) e |= ERROR;
    out[i].fd = static_cast<int32_t>(evs[i].ident);
    out[i].events = e;
  }
  return n;
}

}  // namespace conduit
