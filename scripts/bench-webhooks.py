#!/usr/bin/env python3
"""Pass 6 of `make bench`: webhook deliveries end to end.

A fresh demo database (`seed-demo`, a signed-in session we know), `portal serve
--webhooks-allow-private-networks`, and a receiver of our own on loopback (asyncio, keep-alive,
answering 200 at once, recording every request). Two endpoints are added with
`portal webhooks add-endpoint`; `portal webhooks send-tests --count N` queues the events.

  1. N events to endpoint A: deliveries/s end to end (from the queueing command's start to the
     last receipt; goal >= 1,000/s), every event received exactly once, every signature verified
     with the reference `standardwebhooks` package; meanwhile GET /account at 64 connections
     (wrk on core 1): p99 (goal < 20 ms).
  2. N more to A while endpoint B's receiver accepts and never answers (its deliveries hold their
     senders for the 15 s timeout): A's rate must not drop by more than 10 %.
"""
import argparse, asyncio, base64, json, os, re, secrets, shutil, signal, subprocess, sys, threading, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--root", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--public", required=True)
ap.add_argument("--events", type=int, default=10_000)
ap.add_argument("--port", type=int, default=18098)
ap.add_argument("--receiver-port", type=int, default=18099)
ap.add_argument("--duration", default="10s")
a = ap.parse_args()


def say(line):
    print(line, flush=True)


# ---------------------------------------------------------------- the receiver
received = {"/a": [], "/b": []}
lock = threading.Lock()


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for l in lines[1:]:
                if ":" in l:
                    k, v = l.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            with lock:
                received.setdefault(path, []).append((time.monotonic(), headers, body))
            if path.startswith("/b"):
                await asyncio.sleep(3600)  # accept and hold
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def run_receiver(ready):
    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", a.receiver_port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()
    asyncio.run(main())


ready = threading.Event()
threading.Thread(target=run_receiver, args=(ready,), daemon=True).start()
ready.wait()

# ---------------------------------------------------------------- the portal
common = ["--templates", f"{a.root}/Templates", "--migrations", f"{a.root}/Migrations"]
var = os.path.join(a.work, "var", "webhooks")
shutil.rmtree(var, ignore_errors=True)
os.makedirs(var)
db = os.path.join(var, "portal.sqlite")
token = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
seeded = subprocess.run([a.bin, "seed-demo", "--db", db, f"--session-token={token}"] + common, capture_output=True, text=True, check=True)
org = re.search(r"/orgs/(org_\w+)", seeded.stdout).group(1)


def cli(*args):
    r = subprocess.run([a.bin, *args, "--db", db] + common, capture_output=True, text=True)
    if r.returncode != 0:
        say(f"portal {' '.join(args[:2])} failed: {r.stderr.strip()}")
        sys.exit(1)
    return r.stdout.strip()


ep_a, secret_a = cli("webhooks", "add-endpoint", "--org", org, "--env", "sandbox", "--url", f"http://127.0.0.1:{a.receiver_port}/a",
                     "--webhooks-allow-private-networks").split()
ep_b, _ = cli("webhooks", "add-endpoint", "--org", org, "--env", "sandbox", "--url", f"http://127.0.0.1:{a.receiver_port}/b",
              "--webhooks-allow-private-networks").split()
server = subprocess.Popen(["taskset", "-c", "0", a.bin, "serve", "--port", str(a.port), "--db", db, "--public", a.public, "--log-level", "warning",
                           "--webhooks-allow-private-networks"] + common, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{a.port}/healthz", timeout=1)
            break
        except Exception:
            time.sleep(0.1)

    def count(path):
        with lock:
            return len(received[path])

    def deliver(n, label):
        before = count("/a")
        started = time.monotonic()
        cli("webhooks", "send-tests", "--endpoint", ep_a, "--count", str(n))
        queued = time.monotonic()
        deadline = started + 300
        while count("/a") < before + n and time.monotonic() < deadline:
            time.sleep(0.02)
        done = time.monotonic()
        got = count("/a") - before
        rate = got / (done - started)
        say("  %s: %d of %d delivered in %.2f s (queued in %.2f s) = %.0f deliveries/s end to end" % (label, got, n, done - started, queued - started, rate))
        return rate

    # 1. alone, with /account under load meanwhile
    say("== webhooks: %d events to one endpoint (receiver answers 200 at once), GET /account at 64 connections meanwhile" % a.events)
    wrk = subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c64", "-d", a.duration, "--latency", "-H", f"Cookie: portal_session={token}",
                            f"http://127.0.0.1:{a.port}/account"], stdout=subprocess.PIPE, text=True)
    rate1 = deliver(a.events, "alone")
    out = wrk.communicate()[0]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if p99:
        v = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
        say("  /account p99 during the deliveries: %.2f ms (goal < 20)" % v)

    # exactly once, signed right
    with lock:
        got = list(received["/a"])
    ids = [h.get("webhook-id") for _, h, _ in got]
    dupes = len(ids) - len(set(ids))
    try:
        from standardwebhooks.webhooks import Webhook
        wh = Webhook(secret_a)
        bad = 0
        for _, h, body in got:
            try:
                wh.verify(body, {"webhook-id": h["webhook-id"], "webhook-timestamp": h["webhook-timestamp"], "webhook-signature": h["webhook-signature"]})
            except Exception:
                bad += 1
        say("  %d received, %d distinct webhook-ids, %d duplicates, %d signatures refused by standardwebhooks" % (len(ids), len(set(ids)), dupes, bad))
    except ImportError:
        say("  %d received, %d distinct, %d duplicates (standardwebhooks not installed: signatures not checked)" % (len(ids), len(set(ids)), dupes))
    say("  goal: >= 1000 deliveries/s: %s" % ("met" if rate1 >= 1000 else "NOT met"))

    # 2. beside an endpoint that holds
    say("== webhooks: the same beside an endpoint whose receiver accepts and never answers")
    cli("webhooks", "send-tests", "--endpoint", ep_b, "--count", "200")
    time.sleep(1)
    rate2 = deliver(a.events, "beside a holding receiver")
    drop = (1 - rate2 / rate1) * 100 if rate1 else 0
    say("  held on B: %d requests open; A's rate %.0f/s vs %.0f/s alone: %+.1f %% (goal: drop <= 10 %%)" % (count("/b"), rate2, rate1, -drop))
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
