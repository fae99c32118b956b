// The seccomp filter on every sandbox process, attacked from inside a sandbox as `user` and as
// root (sudo): each refused syscall answers the exact errno, nothing it aimed at changes on the
// host (keyring, cgroup tree, hostname, swap), and what users do inside still works. The attacks
// are chosen to leave nothing harmful behind even where they succeed (an older sandboxd).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { createSandbox, startSuiteSandboxd } from '../helpers/test-template.mjs';
import { uniqueTag } from '../sandboxd/util.mjs';

const EPERM = 1;
const ENOSYS = 38;
// The probe passes raw syscall numbers; they are the x86_64 ones.
assert.equal(process.arch, 'x64', 'the syscall numbers below are x86_64 ones');

// Each probe: a syscall made through ctypes with arguments that would do harm (or at least
// succeed) without the filter. `$TAG` is replaced by a value unique to the run.
const PROBE = String.raw`
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
TAG = sys.argv[1].encode()
def call(nr, *args):
    ctypes.set_errno(0)
    ret = libc.syscall(nr, *args)
    if ret == 0 and nr == 56:  # a clone that went through: the child leaves at once
        os._exit(0)
    return ctypes.get_errno() if ret < 0 else 0
s = ctypes.c_char_p
probes = {
    # keyrings: a key in the session and in the user keyring, and reading the session one
    "add_key": call(248, s(b"user"), s(TAG), s(b"secret"), 6, ctypes.c_long(-4)),
    "request_key": call(249, s(b"user"), s(TAG), None, ctypes.c_long(-3)),
    "keyctl": call(250, 0, ctypes.c_long(-3), 0),
    # new namespaces: unshare(0) alone would succeed for anyone
    "unshare": call(272, 0),
    "unshare_user": call(272, 0x10000000),
    "clone_newuser": call(56, 0x10000000 | 17, 0, 0, 0, 0),
    "clone_newns": call(56, 0x00020000 | 17, 0, 0, 0, 0),
    "clone3": call(435, 0, 0),
    "setns": call(308, os.open("/proc/self/ns/net", os.O_RDONLY), 0),
    # mounts, old and new API
    "mount": call(165, s(b"none"), s(b"/tmp"), s(b"tmpfs"), 0, None),
    "umount2": call(166, s(b"/proc"), 2),
    "pivot_root": call(155, s(b"/tmp"), s(b"/tmp")),
    "open_tree": call(428, -100, s(b"/"), 1),
    "move_mount": call(429, -1, s(b""), -100, s(b"/tmp"), 4),
    "fsopen": call(430, s(b"tmpfs"), 0),
    "fsconfig": call(431, -1, 0, None, None, 0),
    "fsmount": call(432, -1, 0, 0),
    "fspick": call(433, -100, s(b"/"), 0),
    "mount_setattr": call(442, -100, s(b"/"), 0, None, 0),
    # the kernel's own attack surface
    "open_by_handle_at": call(304, os.open("/", os.O_RDONLY), None, 0),
    "bpf": call(321, 0, None, 0),
    "perf_event_open": call(298, None, 0, -1, -1, 0),
    "userfaultfd": call(323, 0),
    "io_uring_setup": call(425, 1, None),
    "lookup_dcookie": call(212, 0, None, 0),
    "quotactl": call(179, 0, None, 0, None),
    "syslog": call(103, 3, None, 0),
    "iopl": call(172, 3),
    "ioperm": call(173, 0, 1024, 1),
    # the machine
    "kexec_load": call(246, 0, 0, None, 0),
    "kexec_file_load": call(320, -1, -1, 0, None, 0),
    "init_module": call(175, None, 0, s(b"")),
    "finit_module": call(313, -1, s(b""), 0),
    "delete_module": call(176, s(b"ext4"), 0),
    "swapon": call(167, s(b"/tmp/swap"), 0),
    "swapoff": call(168, s(b"/tmp/swap")),
    "reboot": call(169, 0xfee1dead, 672274793, 0),
    "settimeofday": call(164, None, None),
    "clock_settime": call(227, 0, None),
    "acct": call(163, None),
    "sethostname": call(170, s(TAG), len(TAG)),
    "setdomainname": call(171, s(TAG), len(TAG)),
    # argument rules: vsock sockets and personalities other than Docker's few
    "socket_vsock": call(41, 40, 1, 0),
    "personality_no_aslr": call(135, 0x0040000),
    # allowed controls: plain calls, an ordinary socket, the personality query
    "getpid": call(39),
    "socket_inet": call(41, 2, 1, 0),
    "personality_query": call(135, 0xffffffff),
}
print(json.dumps(probes))
`;

const BLOCKED = Object.fromEntries(
  [
    'add_key', 'request_key', 'keyctl', 'unshare', 'unshare_user', 'clone_newuser', 'clone_newns',
    'setns', 'mount', 'umount2', 'pivot_root', 'open_tree', 'move_mount', 'fsopen', 'fsconfig',
    'fsmount', 'fspick', 'mount_setattr', 'open_by_handle_at', 'bpf', 'perf_event_open',
    'userfaultfd', 'io_uring_setup', 'lookup_dcookie', 'quotactl', 'syslog', 'iopl', 'ioperm',
    'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'swapon',
    'swapoff', 'reboot', 'settimeofday', 'clock_settime', 'acct', 'sethostname', 'setdomainname',
    'socket_vsock', 'personality_no_aslr',
  ].map((name) => [name, EPERM]),
);
const EXPECTED = { ...BLOCKED, clone3: ENOSYS, getpid: 0, socket_inet: 0, personality_query: 0 };

/** Every directory under the host's cgroup roots (v2 or each v1 hierarchy), as paths. */
function hostCgroups(dir = '/sys/fs/cgroup', out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      out.push(join(dir, entry.name));
      hostCgroups(join(dir, entry.name), out);
    }
  }
  return out;
}

let sd;
let sbx;
before(async () => {
  sd = await startSuiteSandboxd();
  sbx = await createSandbox();
  await sbx.files.write('/tmp/probe.py', PROBE);
});
after(async () => {
  await sbx?.kill();
  await sd?.stop();
});

describe('seccomp', () => {
  for (const [who, prefix] of [['user', ''], ['root', 'sudo ']]) {
    test(`as ${who}: every refused syscall answers its errno and the host is unchanged`, async () => {
      const tag = `seccomp-${uniqueTag()}`;
      const out = await sbx.commands.run(
        `${prefix}grep -E '^(Uid|Seccomp):' /proc/self/status; ${prefix}python3 /tmp/probe.py ${tag}`,
      );
      const [uid, mode, json] = out.stdout.trim().split('\n');
      assert.match(uid, who === 'root' ? /^Uid:\s+0\s/ : /^Uid:\s+[1-9]/);
      assert.equal(mode, 'Seccomp:\t2', 'the process runs under a seccomp filter');
      assert.deepEqual(JSON.parse(json), EXPECTED);

      // Host side: no key of this run in the host's keyring list, the hostname as it was.
      assert.ok(!readFileSync('/proc/keys', 'utf8').includes(tag), 'a key added inside shows on the host');
      assert.notEqual(hostname(), tag);
      assert.notEqual((await sbx.commands.run('hostname')).stdout.trim(), tag);
    });

    test(`as ${who}: unshare cannot make user, mount or cgroup namespaces`, async () => {
      const tag = `seccomp-${uniqueTag()}`;
      const swapsBefore = readFileSync('/proc/swaps', 'utf8');
      const attempts = [
        'unshare -U true',
        'unshare -Urm true',
        `unshare -UrmC sh -c 'mount -t cgroup2 none /mnt && mkdir /mnt/${tag}'`,
        `unshare -m sh -c 'mount -t tmpfs none /mnt'`,
      ];
      for (const attempt of attempts) {
        const res = await sbx.commands.run(`${prefix}${attempt}`).catch((e) => e);
        assert.notEqual(res.exitCode, 0, `${attempt} worked`);
        assert.match(res.stderr, /unshare failed: Operation not permitted/, attempt);
      }
      // mount(8) itself refuses `user`; root reaches the syscall, which the filter refuses.
      const direct = await sbx.commands.run(`${prefix}mount -t cgroup2 none /mnt`).catch((e) => e);
      assert.notEqual(direct.exitCode, 0);
      assert.match(direct.stderr, who === 'root' ? /mount: \/mnt: permission denied\./ : /must be superuser/);
      const leaked = hostCgroups().filter((p) => p.endsWith(`/${tag}`));
      leaked.forEach((p) => rmdirSync(p));
      assert.deepEqual(leaked, [], 'a cgroup made inside exists on the host');
      assert.equal(readFileSync('/proc/swaps', 'utf8'), swapsBefore);
    });
  }

  test("ptrace is allowed as Docker allows it: one's own processes, not root's", async () => {
    const own = await sbx.commands.run('strace -f -e trace=execve -o /dev/null true && echo traced');
    assert.equal(own.stdout, 'traced\n');
    const asRoot = await sbx.commands.run('sudo strace -o /dev/null true && echo traced');
    assert.equal(asRoot.stdout, 'traced\n');
    // envd (PID 1, root) is out of reach of `user`: without CAP_SYS_PTRACE, which no one
    // inside has, ptrace needs the same uid.
    const envd = await sbx.commands.run('strace -p 1 -o /dev/null').catch((e) => e);
    assert.notEqual(envd.exitCode, 0);
    assert.match(envd.stderr, /Operation not permitted/);
  });

  test('what users do inside still works under the filter', async () => {
    const script = String.raw`set -e
cd /home/user && mkdir -p work && cd work
seq 1 1000 | sort -rn | head -1
mkfifo f && (echo through-fifo > f &) && cat f
python3 - <<'EOF'
import concurrent.futures, multiprocessing
print(sum(concurrent.futures.ThreadPoolExecutor(8).map(abs, range(-100, 0))))
with multiprocessing.Pool(2) as pool:
    print(sum(pool.map(abs, range(-10, 0))))
EOF
node - <<'EOF'
const { Worker } = require('node:worker_threads');
new Worker('require("node:worker_threads").parentPort.postMessage(42)', { eval: true })
  .on('message', (m) => { console.log('worker', m); process.exit(0); });
EOF
git init -q repo && git -C repo -c user.email=a@b -c user.name=a commit -q --allow-empty -m x && git -C repo log --format=%s
sudo id -u
touch owned && sudo chown root:root owned && stat -c %U owned
sudo chroot / true && echo chroot-ok
(sudo python3 -m http.server 80 --bind 127.0.0.1 >/dev/null 2>&1 &)
for i in $(seq 100); do code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:80/) && [ "$code" = 200 ] && break; sleep 0.1; done; echo "$code"
python3 - <<'EOF'
import os, pty, socket
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp.sendto(b"udp-ok", udp.getsockname())
print(udp.recv(16).decode())
leader, follower = pty.openpty()
os.write(follower, b"pty-ok\n")
print(os.read(leader, 16).decode().strip())
EOF
ps -p 1 -o pid= | grep -qw 1 && echo ps-ok
python3 - <<'EOF'
import zipfile
with zipfile.ZipFile("seccompprobe-1.0-py3-none-any.whl", "w") as w:
    w.writestr("seccompprobe.py", "VALUE = 'pip-ok'\n")
    info = "seccompprobe-1.0.dist-info/"
    w.writestr(info + "METADATA", "Metadata-Version: 2.1\nName: seccompprobe\nVersion: 1.0\n")
    w.writestr(info + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    w.writestr(info + "RECORD", "")
EOF
python3 -m pip install --quiet --user --no-index --break-system-packages ./seccompprobe-1.0-py3-none-any.whl
cd / && python3 -c 'import seccompprobe; print(seccompprobe.VALUE)'
`;
    const out = await sbx.commands.run(script, { timeoutMs: 120_000 });
    assert.deepEqual(out.stdout.trim().split('\n'), [
      '1000',
      'through-fifo',
      '5050',
      '55',
      'worker 42',
      'x',
      '0',
      'root',
      'chroot-ok',
      '200',
      'udp-ok',
      'pty-ok',
      'ps-ok',
      'pip-ok',
    ]);

    // inotify through envd (watchDir) and an SDK terminal.
    const events = [];
    const handle = await sbx.files.watchDir('/home/user/work', (e) => events.push(e.name));
    await sbx.files.write('/home/user/work/watched.txt', 'x');
    for (let i = 0; i < 100 && !events.includes('watched.txt'); i++) await new Promise((r) => setTimeout(r, 50));
    await handle.stop();
    assert.ok(events.includes('watched.txt'), `events: ${events}`);

    let text = '';
    const term = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => (text += new TextDecoder().decode(d)) });
    await sbx.pty.sendInput(term.pid, new TextEncoder().encode('tty; exit\n'));
    await term.wait().catch(() => {});
    assert.match(text, /\/dev\/pts\/\d+/);
  });
});
