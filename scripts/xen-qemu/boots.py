#!/usr/bin/env python3
"""Runs the harness's QEMU boots at once, each benchmark on a quiet host.

    boots.py SPEC...

Each SPEC file names one boot: its name, its serial log, the seconds it may
run, its QEMU monitor's socket, then QEMU's arguments, one a line. Every boot
starts at once; each serial line goes to the boot's log with the seconds
since that QEMU started ("[  12.345] line", as the run script reads them).
Two boots share a 2-core host, which is fine for checks but not for figures,
so the dom0 of a boot marks its benchmarks on the console:

    XQ_QUIET_BEGIN <name> ... XQ_QUIET_END <name>

At a BEGIN every other boot is paused through its monitor (`stop`: its
virtual clock stops too, so no timeout inside it runs while it waits) until
the END; a boot that says BEGIN while another one benchmarks is paused itself
until its turn. The dom0 sleeps a second after BEGIN, which is the time this
has to pause it. A boot that ends (or is killed at its limit) gives up its
turn. Writes "<rc>" to LOG.rc: QEMU's exit status (124: killed at the limit).

A span can also be a round that the boots take in lockstep, so that their
figures, compared boot against boot, come from the same minutes of the host
(whose speed has phases of 10-20 s):

    XQ_QUIET_BEGIN <name> lockstep ... XQ_QUIET_END <name>
    XQ_LOCKSTEP_END

Such rounds come in sections, each closed by XQ_LOCKSTEP_END (a boot's
n-th section: the rounds after its (n-1)-th XQ_LOCKSTEP_END). A boot at
such a BEGIN is paused until every other boot is at a BEGIN of the same
name in the same section (or is past that section: it has said its
XQ_LOCKSTEP_END, or ended); then they take the span one after the other,
each alone, the first of them changing from one name to the next (A B,
B A, A B, ...). A boot that comes to a later section first waits there
for the others. Boots at BEGINs of different names in one section, or one
kept waiting over LOCKSTEP_TIMEOUT seconds, end the lockstep for the rest
of the run (logged as "BOOTS: lockstep ..."): the spans are then plain
quiet spans.
"""
import os
import select
import socket
import subprocess
import sys
import time


LOCKSTEP_TIMEOUT = 600


class Boot:
    def __init__(self, spec):
        lines = open(spec).read().split("\n")
        self.name, self.log_path, limit, self.monitor = lines[0], lines[1], float(lines[2]), lines[3]
        self.args = [a for a in lines[4:] if a]
        self.limit = limit
        self.log = open(self.log_path, "w")
        self.start = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.partial = b""
        self.alive = True
        self.paused = False
        # XQ_LOCKSTEP_ENDs said: the section of lockstep rounds it is in
        self.sections = 0

    def stamp(self, raw):
        t = time.monotonic() - self.start
        line = raw.decode("utf-8", "replace").rstrip("\r")
        self.log.write(f"[{int(t):4d}.{int(t * 1000) % 1000:03d}] {line}\n")
        return line

    def hmp(self, command):
        """One command on the human monitor; waits for its prompt after it.
        Returns what the command printed (bytes, the echo included), or None."""
        for _ in range(50):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.monitor)
                break
            except OSError:
                s.close()
                time.sleep(0.1)
        else:
            print(f"boots: {self.name}: no monitor at {self.monitor}", file=sys.stderr)
            return None
        with s:
            s.settimeout(10)
            seen = b""
            try:
                while b"(qemu)" not in seen:
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    seen += chunk
                s.sendall(command.encode() + b"\n")
                seen = b""
                while b"(qemu)" not in seen:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    seen += chunk
            except OSError as e:
                print(f"boots: {self.name}: monitor: {e}", file=sys.stderr)
                return None
        return seen

    def jit(self, mark):
        """Logs the translation cache's state: QEMU throws away all the code
        it has translated when its buffer fills, and the guest runs several
        times slower until the code is translated again, so a flush inside
        a benchmark moves its figures ("BOOTS: jit MARK used/size flushes N")."""
        out = self.hmp("info jit")
        if out is None:
            return
        text = out.decode("utf-8", "replace")
        used = flushes = "?"
        for line in text.split("\n"):
            if line.startswith("gen code size"):
                used = line.split()[-1]
            elif line.startswith("TB flush count"):
                flushes = line.split()[-1]
        self.log.write(f"[{self.elapsed()}] BOOTS: jit {mark} {used} flushes {flushes}\n")
        self.log.flush()

    def host(self, mark):
        """Logs the host's CPU time stolen by its own hypervisor so far (the
        steal column of /proc/stat, all CPUs, in ms), as this machine is a
        VM too: time stolen inside a benchmark is a stall its figures show
        ("BOOTS: host MARK steal_ms")."""
        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()
            steal = int(fields[8]) * 1000 // os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return
        self.log.write(f"[{self.elapsed()}] BOOTS: host {mark} {steal}\n")
        self.log.flush()

    def pause(self):
        if self.alive and not self.paused and self.hmp("stop") is not None:
            self.paused = True
            self.log.write(f"[{self.elapsed()}] BOOTS: paused\n")
            self.log.flush()

    def resume(self):
        if self.alive and self.paused and self.hmp("cont") is not None:
            self.paused = False
            self.log.write(f"[{self.elapsed()}] BOOTS: resumed\n")
            self.log.flush()

    def elapsed(self):
        t = time.monotonic() - self.start
        return f"{int(t):4d}.{int(t * 1000) % 1000:03d}"


def main(specs):
    boots = [Boot(s) for s in specs]
    holder = None
    waiting = []
    # lockstep: on until it fails; parked: boot -> (span name, since when);
    # rounds: how many lockstep spans went, which rotates who goes first
    lockstep = {"on": len(boots) > 1, "rounds": 0}
    parked = {}

    def grant(b):
        nonlocal holder
        holder = b
        for o in boots:
            if o is not b:
                o.pause()
        b.resume()

    def release(b):
        nonlocal holder
        if b in waiting:
            waiting.remove(b)
        if holder is not b:
            return
        holder = None
        if waiting:
            grant(waiting.pop(0))
        else:
            for o in boots:
                if o not in parked:
                    o.resume()

    def log_all(text):
        for o in boots:
            if o.alive:
                o.log.write(f"[{o.elapsed()}] BOOTS: {text}\n")
                o.log.flush()

    def unpark(why=None, group=None):
        """The parked boots (of group, if given) take their spans in turn:
        the first (rotating with each lockstep round) granted, the others
        queued behind it."""
        if why:
            lockstep["on"] = False
            log_all(f"lockstep ends: {why}")
        order = [o for o in boots if o in parked and (group is None or o in group)]
        for o in order:
            del parked[o]
        if not order:
            return
        k = lockstep["rounds"] % len(order)
        lockstep["rounds"] += 1
        order = order[k:] + order[:k]
        for o in order:
            if o not in waiting:
                waiting.append(o)
        if holder is None:
            grant(waiting.pop(0))

    def try_unpark():
        """The boots parked in the earliest section go once every boot
        still to come to that section is parked beside them."""
        if not parked:
            return
        section = min(o.sections for o in parked)
        group = [o for o in parked if o.sections == section]
        names = {parked[o][0] for o in group}
        if len(names) > 1:
            unpark("the boots are at different rounds: " + ", ".join(sorted(names)))
            return
        others = [o for o in boots if o.alive and o.sections <= section and o not in parked]
        if not others:
            unpark(group=group)
        elif time.monotonic() - min(parked[o][1] for o in group) > LOCKSTEP_TIMEOUT:
            unpark(f"{', '.join(o.name for o in others)} not there within {LOCKSTEP_TIMEOUT} s")

    def on_line(b, line):
        if "XQ_QUIET_BEGIN" in line or "XQ_QUIET_END" in line:
            mark = line[line.index("XQ_QUIET_"):]
            b.jit(mark)
            b.host(mark)
        elif "SECTION: " in line or "DOM0_DONE" in line:
            b.jit(line.split()[-1])
        if "XQ_LOCKSTEP_END" in line:
            b.sections += 1
            try_unpark()
        elif "XQ_QUIET_BEGIN" in line and lockstep["on"] and line.split()[-1] == "lockstep" and holder is not b:
            b.pause()
            parked[b] = (line.split()[-2], time.monotonic())
            try_unpark()
        elif "XQ_QUIET_BEGIN" in line and len(boots) > 1:
            if holder is None:
                grant(b)
            elif holder is not b and b not in waiting:
                b.pause()
                waiting.append(b)
        elif "XQ_QUIET_END" in line:
            release(b)

    fds = {b.proc.stdout.fileno(): b for b in boots}
    while fds:
        ready, _, _ = select.select(list(fds), [], [], 1.0)
        for fd in ready:
            b = fds[fd]
            chunk = os.read(fd, 65536)
            if not chunk:
                del fds[fd]
                continue
            data = b.partial + chunk
            *lines, b.partial = data.split(b"\n")
            for raw in lines:
                on_line(b, b.stamp(raw))
            b.log.flush()
        try_unpark()
        now = time.monotonic()
        for b in boots:
            if b.alive and b.proc.poll() is None and now - b.start > b.limit:
                b.log.write(f"[{b.elapsed()}] BOOTS: killed after {b.limit:.0f} s\n")
                b.proc.kill()
                b.killed = True
        for b in boots:
            if b.alive and b.proc.stdout.fileno() not in fds:
                if b.partial:
                    b.stamp(b.partial)
                rc = b.proc.wait()
                b.alive = False
                b.paused = False
                parked.pop(b, None)
                if b in waiting:
                    waiting.remove(b)
                release(b)
                try_unpark()
                b.log.close()
                with open(b.log_path + ".rc", "w") as f:
                    f.write(f"{124 if getattr(b, 'killed', False) else rc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
