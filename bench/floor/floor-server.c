/*
 * The floor for bench/server-load.mjs: the least work a keep-alive HTTP/1.1 server does per
 * request on this kernel, single-threaded. Edge-triggered epoll, accept4, read until
 * EAGAIN, count the request heads in what was read ("\r\n\r\n", carried across reads per
 * connection), and one write of that many fixed "hello world" answers per read. No
 * parsing, no routing, no allocation: any real server costs more than this. Binds
 * 127.0.0.1 on a free port and prints the port on stdout. Built by the benchmark with the
 * system compiler (cc -O2), when there is one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";
#define RESPONSE_LEN (sizeof RESPONSE - 1)
#define MAX_FD 65536
#define MAX_BATCH 256

static unsigned char matched[MAX_FD]; /* progress through "\r\n\r\n" per connection */
static char in[64 * 1024];
static char out[MAX_BATCH * RESPONSE_LEN];

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1024) != 0) {
    perror("floor-server: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listener, (struct sockaddr *)&addr, &len);
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  for (int i = 0; i < MAX_BATCH; i++) memcpy(out + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);

  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = listener };
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  struct epoll_event events[256];
  static const char END[4] = { '\r', '\n', '\r', '\n' };
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c;
        while ((c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (c >= MAX_FD) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          matched[c] = 0;
          struct epoll_event cev = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c };
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      for (;;) {
        ssize_t r = read(fd, in, sizeof in);
        if (r > 0) {
          int heads = 0;
          unsigned m = matched[fd];
          for (ssize_t k = 0; k < r; k++) {
            char b = in[k];
            if (b == END[m]) {
              if (++m == 4) {
                heads++;
                m = 0;
              }
            } else m = b == '\r' ? 1 : 0;
          }
          matched[fd] = (unsigned char)m;
          while (heads > 0) {
            int k = heads > MAX_BATCH ? MAX_BATCH : heads;
            if (write(fd, out, (size_t)k * RESPONSE_LEN) < 0) break;
            heads -= k;
          }
          continue;
        }
        if (r == 0 || errno != EAGAIN) close(fd);
        break;
      }
    }
  }
}
