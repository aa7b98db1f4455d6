// Edge-triggered epoll: each descriptor is reported once per change of readiness, so
// the host must read / write until EAGAIN before it waits again.
#include "poller.h"

#include <sys/epoll.h>
#include <unistd.h>
#include <cerrno>

namespace conduit {

int Poller::Create() {
  int q = epoll_create1(EPOLL_CLOEXEC);
  return q < 0 ? -errno : q;
}

int Poller::Add(int q, int fd, bool writable) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (writable ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.fd = fd;
  return epoll_ctl(q, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int Poller::Want(int q, int fd, bool writable) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (writable ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.fd = fd;
  // MOD re-checks readiness: a socket already writable is reported at once.
  return epoll_ctl(q, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int Poller::Remove(int q, int fd) {
  return epoll_ctl(q, EPOLL_CTL_DEL, fd, nullptr) < 0 ? -errno : 0;
}

int Poller::Collect(int q, Ready* out, int max) {
  epoll_event evs[256];
  if (max > 256) max = 256;
  int n = epoll_wait(q, evs, max, 0);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    int32_t e = 0;
    if (evs[i].events & EPOLLIN) e |= READABLE;
    if (evs[i].events & EPOLLOUT) e |= WRITABLE;
    if (evs[i].events & (EPOLLRDHUP | EPOLLHUP)) e |= HANGUP;
    if (evs[i].events & EPOLLERR) e |= ERROR;
    out[i].fd = evs[i].data.fd;
    out[i].events = e;
  }
  return n;
}

}  // namespace conduit
