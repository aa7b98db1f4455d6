// The native sources built in ways `npm run build:native` does not build them on this
// machine: addon.cc's portable path (CONDUIT_NO_ACCEPT4, what macOS compiles), the kqueue
// poller against libkqueue (a kqueue emulation for Linux; macOS and the BSDs have kqueue
// itself), and the Transport constructor's failure path by fault injection. Each part
// skips when its compiler, headers or library are missing: never a failure for that.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = path.join(root, 'native', 'src');
const require = createRequire(import.meta.url);
const runs = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const gxx = runs('g++', ['--version']);
const linux = process.platform === 'linux';

// The include dirs node-gyp uses: node-addon-api's and the running Node's headers.
const nodeInclude = path.join(path.dirname(process.execPath), '..', 'include', 'node');
let napiInclude = '';
try {
  napiInclude = path.resolve(require('node-addon-api').include_dir as string); // (relative to the cwd)
} catch {
  // (not installed: the addon tests skip)
}
const addonHeaders = existsSync(path.join(nodeInclude, 'node_api.h')) && napiInclude !== '' && existsSync(path.join(napiInclude, 'napi.h'));
// binding.gyp's defines, so that these builds see the code as the real one does.
const gyp = readFileSync(path.join(root, 'native', 'binding.gyp'), 'utf8');
const defines = [...(/"defines":\s*\[([^\]]*)\]/.exec(gyp)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => `-D${m[1]}`);
const addonFlags = ['-std=c++17', '-Wall', '-Wextra', ...defines, `-I${napiInclude}`, `-I${nodeInclude}`];

let tmp = '';
const tmpDir = () => (tmp ||= mkdtempSync(path.join(os.tmpdir(), 'conduit-native-build-')));
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Runs g++; fails the test with the compiler's output when it fails. */
function gpp(args: string[]): string {
  const r = spawnSync('g++', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`g++ ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stderr;
}

/** addon.cc's own lines in the preprocessor's output (headers' lines left out). */
function addonLines(extra: string[]): string {
  const out = spawnSync('g++', ['-E', ...addonFlags, ...extra, path.join(src, 'addon.cc')], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  expect(out.status).toBe(0);
  let ours = false;
  const kept: string[] = [];
  for (const line of out.stdout.split('\n')) {
    const marker = /^# \d+ "([^"]*)"/.exec(line);
    if (marker) ours = marker[1].endsWith(path.join('native', 'src', 'addon.cc'));
    else if (ours) kept.push(line);
  }
  return kept.join('\n');
}

describe.skipIf(!gxx || !addonHeaders)('addon.cc without accept4 (CONDUIT_NO_ACCEPT4: the macOS path)', () => {
  it('compiles, warning-free in our sources, and uses no accept4 / SOCK_NONBLOCK / SOCK_CLOEXEC', () => {
    expect(defines).toContain('-DNAPI_DISABLE_CPP_EXCEPTIONS');
    const stderr = gpp(['-fsyntax-only', ...addonFlags, '-DCONDUIT_NO_ACCEPT4', path.join(src, 'addon.cc')]);
    expect(stderr.split('\n').filter((l) => l.includes(path.join('native', 'src')) && /warning:/.test(l))).toEqual([]);
    const linuxOnly = /\baccept4\b|\bSOCK_NONBLOCK\b|\bSOCK_CLOEXEC\b/;
    expect(addonLines(['-DCONDUIT_NO_ACCEPT4'])).not.toMatch(linuxOnly);
    if (linux) expect(addonLines([])).toMatch(linuxOnly); // (the check sees the code: Linux's build uses them)
  });

  it.skipIf(!linux)('built that way, it runs: listener and connections are non-blocking and close-on-exec', () => {
    const portable = path.join(tmpDir(), 'portable.node');
    gpp(['-shared', '-fPIC', '-O1', ...addonFlags, '-DCONDUIT_NO_ACCEPT4', path.join(src, 'addon.cc'), path.join(src, 'poller_epoll.cc'), '-o', portable]);
    // (in a child: a second copy of the addon stays out of this process)
    const script = `
      const mod = require(process.argv[1]);
      const net = require('node:net');
      const fs = require('node:fs');
      const flags = (fd) => parseInt(/flags:\\s*([0-7]+)/.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8);
      let lfd = -1;
      const t = new mod.Transport((count) => {
        for (let i = 0; i < count; i++) {
          if (t.events[i * 2] !== lfd) continue;
          const c = t.accept(lfd);
          if (c < 0) continue;
          const result = { listener: flags(lfd), connection: flags(c), emptyRead: t.discard(c, 16), EAGAIN: mod.EAGAIN,
            wrote: t.writeBuffer(c, Buffer.from('hi')) };
          client.on('data', (d) => {
            result.got = String(d);
            console.log(JSON.stringify(result));
            process.exit(0);
          });
        }
      });
      lfd = t.listen('127.0.0.1', 0, 8);
      const client = net.connect(t.localPort(lfd), '127.0.0.1');
      setTimeout(() => process.exit(3), 5000);`;
    const O_CLOEXEC = 0o2000000; // (Linux's; /proc's fdinfo shows it with the status flags)
    for (const build of [portable, path.join(root, 'native', 'build', 'Release', 'conduit_native.node')]) {
      if (!existsSync(build)) continue; // (the regular build: when it is there, the same must hold)
      const r = spawnSync(process.execPath, ['-e', script, build], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout);
      for (const fl of [got.listener, got.connection]) {
        expect(fl & fsConstants.O_NONBLOCK).toBe(fsConstants.O_NONBLOCK);
        expect(fl & O_CLOEXEC).toBe(O_CLOEXEC);
      }
      expect(got.emptyRead).toBe(-got.EAGAIN);
      expect(got.wrote).toBe(2);
      expect(got.got).toBe('hi');
    }
  });
});

// Where kqueue comes from: the system (macOS, BSDs), or libkqueue on Linux (pkg-config,
// else Debian's layout: /usr/include/kqueue/sys/event.h and -lkqueue).
function kqueueFlags(): { cflags: string[]; libs: string[] } | null {
  if (['darwin', 'freebsd', 'openbsd', 'netbsd'].includes(process.platform)) return { cflags: [], libs: [] };
  if (!linux) return null;
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'libkqueue'], { encoding: 'utf8' });
  if (pc.status === 0) {
    const libdir = spawnSync('pkg-config', ['--variable=libdir', 'libkqueue'], { encoding: 'utf8' }).stdout.trim();
    const flags = pc.stdout.trim().split(/\s+/);
    return {
      cflags: flags.filter((f) => f.startsWith('-I')),
      libs: [...flags.filter((f) => !f.startsWith('-I')), '-lpthread', ...(libdir ? [`-Wl,-rpath,${libdir}`] : [])],
    };
  }
  if (existsSync('/usr/include/kqueue/sys/event.h')) return { cflags: ['-I/usr/include/kqueue'], libs: ['-lkqueue', '-lpthread'] };
  return null;
}
const kqueue = gxx ? kqueueFlags() : null;

// Drives conduit::Poller over socket pairs, one printed line per failed check.
const driver = `// Drives conduit::Poller (poller_kqueue.cc) over a socketpair: prints one line per failed
// check, then "ok" or "failed".
#include "poller.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdio>

using conduit::Poller;
using conduit::Ready;

static int failures = 0;
#define CHECK(cond)                                                 \\
  do {                                                              \\
    if (!(cond)) {                                                  \\
      std::printf("FAILED line %d: %s\\n", __LINE__, #cond);        \\
      failures++;                                                   \\
    }                                                               \\
  } while (0)

// The events reported for fd within about waitMs (0: none), and how many entries named it.
static int Await(int q, int fd, int waitMs, int* entries = nullptr) {
  int events = 0, seen = 0;
  for (int waited = 0; waited <= waitMs; waited += 5) {
    Ready ready[64];
    int n = Poller::Collect(q, ready, 64);
    if (n < 0) return n;
    for (int i = 0; i < n; i++) {
      if (ready[i].fd != fd) continue;
      events |= ready[i].events;
      seen++;
    }
    if (seen > 0) break;
    usleep(5000);
  }
  if (entries != nullptr) *entries = seen;
  return events;
}

// A connected TCP pair over 127.0.0.1 (a reset needs TCP).
static bool TcpPair(int* a, int* b) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&sa), len) < 0 || listen(l, 1) < 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return false;
  *b = socket(AF_INET, SOCK_STREAM, 0);
  if (*b < 0 || connect(*b, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) return false;
  *a = accept(l, nullptr, nullptr);
  close(l);
  return *a >= 0;
}

int main() {
  using namespace conduit;
  int q = Poller::Create();
  CHECK(q >= 0);
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  for (int fd : sv) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int s = sv[0];

  CHECK(Poller::Add(q, s, false) == 0);
  CHECK(Await(q, s, 50) == 0);  // nothing to read, and writability was not asked for

  CHECK(write(sv[1], "a", 1) == 1);
  int entries = 0;
  int ev = Await(q, s, 1000, &entries);
  CHECK((ev & READABLE) != 0);
  CHECK((ev & (WRITABLE | HANGUP | ERROR)) == 0);
  CHECK(Await(q, s, 50) == 0);  // edge-triggered: reported once per change

  // Writability when asked (a socket with room is reported at once), in the same entry
  // as readability when both hold (one entry per descriptor, as epoll gives).
  CHECK(write(sv[1], "b", 1) == 1);
  CHECK(Poller::Want(q, s, true) == 0);
  ev = Await(q, s, 1000, &entries);
  CHECK((ev & WRITABLE) != 0);
  CHECK((ev & READABLE) != 0);
  CHECK(entries == 1);
  CHECK(Poller::Want(q, s, false) == 0);
  CHECK(Poller::Want(q, s, false) == 0);  // (off twice: still fine)
  CHECK(write(sv[1], "c", 1) == 1);
  ev = Await(q, s, 1000);
  CHECK((ev & READABLE) != 0);
  CHECK((ev & WRITABLE) == 0);

  char buf[4096];
  CHECK(read(s, buf, sizeof(buf)) == 3);

  // A full socket: writability is reported only once the peer has made room.
  while (write(s, buf, sizeof(buf)) > 0) {}
  CHECK(Poller::Want(q, s, true) == 0);
  CHECK((Await(q, s, 50) & WRITABLE) == 0);
  while (read(sv[1], buf, sizeof(buf)) > 0) {}
  CHECK((Await(q, s, 1000) & WRITABLE) != 0);
  CHECK(Poller::Want(q, s, false) == 0);

  // Errors are reported, not swallowed.
  int closed = dup(s);
  close(closed);
  CHECK(Poller::Add(q, closed, false) < 0);
  CHECK(Poller::Want(q, closed, true) < 0);

  // The peer's EOF: readable (read returns 0) and HANGUP.
  close(sv[1]);
  ev = Await(q, s, 1000);
  CHECK((ev & READABLE) != 0);
  CHECK((ev & HANGUP) != 0);
  CHECK(read(s, buf, sizeof(buf)) == 0);

  CHECK(Poller::Remove(q, s) == 0);
  close(s);

  // A reset (the peer closes with SO_LINGER 0): HANGUP and ERROR, as epoll reports it.
  int a = -1, b = -1;
  CHECK(TcpPair(&a, &b));
  CHECK(Poller::Add(q, a, false) == 0);
  linger hard = {1, 0};
  setsockopt(b, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(b);
  ev = Await(q, a, 1000);
  CHECK((ev & HANGUP) != 0);
  CHECK((ev & ERROR) != 0);
  CHECK(Poller::Remove(q, a) == 0);
  close(a);

  // Removed: a descriptor's changes are no longer reported.
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(Poller::Add(q, sv[0], false) == 0);
  CHECK(Poller::Remove(q, sv[0]) == 0);
  CHECK(write(sv[1], "d", 1) == 1);
  CHECK(Await(q, sv[0], 50) == 0);
  close(sv[0]);
  close(sv[1]);
  close(q);
  std::printf(failures == 0 ? "ok\\n" : "failed\\n");
  return failures == 0 ? 0 : 1;
}
`;

describe.skipIf(kqueue === null)('kqueue poller (poller_kqueue.cc)', () => {
  it('reports a readable edge once, writability when asked (one entry per descriptor), EOF as HANGUP, a reset as ERROR, and errors', () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'kqueue-driver.cc'), driver);
    const exe = path.join(dir, 'kqueue-driver');
    gpp(['-std=c++17', '-Wall', '-Wextra', `-I${src}`, ...kqueue!.cflags, path.join(dir, 'kqueue-driver.cc'), path.join(src, 'poller_kqueue.cc'),
      ...kqueue!.libs, '-o', exe]);
    const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim().split('\n')).toEqual(['ok']);
    expect(r.status).toBe(0);
  });
});

// A shim (LD_PRELOAD) under which the addon's epoll_create1() returns a descriptor libuv
// cannot watch (/dev/null): uv_poll_init() then fails, as it can for real (EPERM, ENOMEM).
const shim = `#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
extern "C" int epoll_create1(int flags) {
  Dl_info info;
  if (dladdr(__builtin_return_address(0), &info) != 0 && info.dli_fname != nullptr && strstr(info.dli_fname, "conduit_native") != nullptr)
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto real = reinterpret_cast<int (*)(int)>(dlsym(RTLD_NEXT, "epoll_create1"));
  return real(flags);
}
`;
const addonBuild = path.join(root, 'native', 'build', 'Release', 'conduit_native.node');

describe.skipIf(!gxx || !linux || !existsSync(addonBuild))('Transport constructor failures', () => {
  it('a queue that libuv cannot watch: the constructor throws and leaks no descriptor', () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'shim.cc'), shim);
    const so = path.join(dir, 'shim.so');
    gpp(['-shared', '-fPIC', path.join(dir, 'shim.cc'), '-o', so, '-ldl']);
    const script = `
      const mod = require(process.argv[1]);
      const fs = require('node:fs');
      const count = () => fs.readdirSync('/proc/self/fd').length;
      const before = count();
      const errors = [];
      for (let i = 0; i < 5; i++) {
        try { new mod.Transport(() => {}); errors.push('constructed'); } catch (e) { errors.push(e.message); }
      }
      console.log(JSON.stringify({ leaked: count() - before, errors }));`;
    const r = spawnSync(process.execPath, ['-e', script, addonBuild], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, LD_PRELOAD: so } });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got.errors).toEqual(Array(5).fill('cannot watch the readiness queue'));
    expect(got.leaked).toBe(0);
  });
});
