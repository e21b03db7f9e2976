#!/usr/bin/env python3
"""Pass 3 of `make bench`: does password hashing hold pages up?

Starts Portal pinned to core 0 with a fresh database and a signed-in demo account, then
measures GET /account with wrk (64 connections, core 1) twice: alone, and while a client
on core 1 attempts 20 logins a second (each one an scrypt N=2^17 verification on the
server). Prints both p99s and how many logins the server completed. Loopback only;
bounded in time.
"""
import argparse, base64, http.client, json, os, re, secrets, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--root", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--public", required=True)
ap.add_argument("--duration", default="10s")
ap.add_argument("--rate", type=float, default=20)
ap.add_argument("--port", type=int, default=18095)
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="portal-logins-", dir=os.path.join(a.work, "var"))
db = os.path.join(tmp, "p.sqlite")
token = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
email, password = "bench@portal.localhost", "amber river kettle sonnet"
common = ["--templates", f"{a.root}/Templates", "--migrations", f"{a.root}/Migrations"]
# "--session-token=…": a token may begin with "-".
subprocess.run([a.bin, "seed-demo", "--db", db, "--email", email, "--password", password, f"--session-token={token}"] + common,
               check=True, stdout=subprocess.DEVNULL)
server = subprocess.Popen(["taskset", "-c", "0", a.bin, "serve", "--port", str(a.port), "--db", db, "--public", a.public,
                           "--log-level", "warning"] + common, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "server.log"), "w"))

def get(path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body

try:
    for _ in range(100):
        try:
            if get("/healthz")[0].status == 200: break
        except OSError:
            time.sleep(0.1)
    # One visitor cookie and its form token serve every login attempt.
    r, body = get("/login")
    cookie = r.getheader("Set-Cookie").split(";")[0]
    csrf = re.search(rb'name="_csrf" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode({"_csrf": csrf, "email": email, "password": password})

    def wrk():
        out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", "-d" + a.duration, "--latency",
                              "-H", f"Cookie: portal_session={token}", f"http://127.0.0.1:{a.port}/account"],
                             capture_output=True, text=True, check=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0

    subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", "-d2s", "-H", f"Cookie: portal_session={token}",
                    f"http://127.0.0.1:{a.port}/account"], capture_output=True)  # warm-up
    alone = wrk()

    stop = threading.Event()
    done, failed, latencies, outstanding = [0], [0], [], [0]
    lock = threading.Lock()
    def login():
        t = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
            c.request("POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            r = c.getresponse(); r.read(); c.close()
            ok = r.status == 303 and r.getheader("Location", "").startswith("/login/mfa")
        except OSError:
            ok = False
        with lock:
            outstanding[0] -= 1
            if ok:
                done[0] += 1; latencies.append(time.monotonic() - t)
            else:
                failed[0] += 1
    def driver():
        os.sched_setaffinity(0, {1})
        interval, nxt, sent, skipped = 1 / a.rate, time.monotonic(), 0, 0
        while not stop.is_set():
            with lock:
                busy = outstanding[0] >= 64
                if not busy: outstanding[0] += 1
            if busy: skipped += 1
            else:
                threading.Thread(target=login, daemon=True).start(); sent += 1
            nxt += interval
            time.sleep(max(0, nxt - time.monotonic()))
        driver.sent, driver.skipped = sent, skipped
    d = threading.Thread(target=driver); d.start()
    time.sleep(1)
    t0 = time.monotonic()
    with_logins = wrk()
    elapsed = time.monotonic() - t0
    stop.set(); d.join()
    time.sleep(0.5)
    lat = sorted(latencies)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    print(f"/account alone:         {alone[0]:9.0f} req/s  p99 {alone[1]:7.2f} ms  non-2xx {alone[2]}")
    print(f"/account during logins: {with_logins[0]:9.0f} req/s  p99 {with_logins[1]:7.2f} ms  non-2xx {with_logins[2]}  (goal: p99 < 20 ms)")
    print(f"logins: {driver.sent} attempted at {a.rate:g}/s ({driver.skipped} not sent: 64 already waiting), {done[0]} completed "
          f"({done[0] / max(elapsed, 0.001):.1f}/s during the run), {failed[0]} failed; latency p50 {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms")
finally:
    server.send_signal(signal.SIGTERM)
    try: server.wait(timeout=20)
    except subprocess.TimeoutExpired: server.kill()
    shutil.rmtree(tmp, ignore_errors=True)
