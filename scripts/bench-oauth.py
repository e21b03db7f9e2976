#!/usr/bin/env python3
"""Pass 7 of `make bench`: the OAuth server.

A fresh demo database (`seed-demo --session-token … --api-key`, no transactions needed), the
server on core 0 and wrk on core 1. Through the pages, as the demo member (its session cookie),
an app is registered in the Sandbox and subscribed to Balances; then:

  - POST /oauth/token, grant_type=client_credentials with HTTP Basic (wrk with a Lua script for
    the POST body), 64 connections: tokens/s and p99;
  - GET /v1/balances with an OAuth access token, beside the same with the API key and beside
    the harness's Hummingbird plaintext anchor (its binary from an earlier pass, on the same
    core, idle while the others run), alternating round by round at 64 connections: req/s,
    p99, the token's ratio to the key and each one's to Hummingbird (issue 12's goal: the
    API key's, >= 0.5x HB plaintext with p99 < 10 ms).

The per-credential rate limit is raised for the run (`--api-rate`).
"""
import argparse, base64, html, http.cookiejar, os, re, secrets, shutil, signal, statistics, subprocess, sys, time, urllib.parse, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--root", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--public", required=True)
ap.add_argument("--port", type=int, default=18098)
ap.add_argument("--harness", default=None, help="the anchor harness (for Hummingbird's plaintext beside /v1/balances)")
ap.add_argument("--hb-port", type=int, default=18095)
ap.add_argument("--duration", default="10s")
ap.add_argument("--rounds", default=os.environ.get("ROUNDS", "3"))
ap.add_argument("--cpu-server", default="0")
ap.add_argument("--cpu-wrk", default="1")
a = ap.parse_args()

def say(line):
    print(line, flush=True)

common = ["--templates", f"{a.root}/Templates", "--migrations", f"{a.root}/Migrations"]
var = os.path.join(a.work, "var", "oauth")
shutil.rmtree(var, ignore_errors=True)
os.makedirs(var)
db = os.path.join(var, "portal-oauth.sqlite")
base = f"http://127.0.0.1:{a.port}"

session = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
seeded = subprocess.run([a.bin, "seed-demo", "--db", db, f"--session-token={session}", "--api-key"] + common, capture_output=True, text=True)
if seeded.returncode != 0:
    say("seed-demo failed:\n" + seeded.stderr)
    sys.exit(1)
api_key = re.search(r"API key \(Sandbox\): (sk_sandbox_\w+)", seeded.stdout).group(1)
org_path = re.search(r"Organization: \S*?(/orgs/[a-z0-9_]+)", seeded.stdout).group(1)

server = subprocess.Popen(["taskset", "-c", a.cpu_server, a.bin, "serve", "--db", db, "--public", a.public, "--log-level", "warning",
                           "--api-rate", "1000000", "--port", str(a.port)] + common,
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(var, "server.log"), "a"), cwd=a.root)

def stop():
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()

try:
    for _ in range(600):
        try:
            if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200: break
        except OSError:
            time.sleep(0.1)
    if urllib.request.urlopen(base + "/.well-known/oauth-authorization-server").status != 200:
        say("skip pass 7: no OAuth server here")
        sys.exit(0)

    # ---------------------------------------------------------------- an app, through the pages
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    opener.addheaders = [("Cookie", f"portal_session={session}"), ("Origin", base)]

    def page(path, fields=None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        with opener.open(base + path, data=data) as r:
            return r.read().decode()

    def csrf(text):
        return html.unescape(re.search(r'name="_csrf" value="([^"]+)"', text).group(1))

    apps = org_path + "/sandbox/apps"
    created = page(apps + "/new", {"_csrf": csrf(page(apps + "/new")), "name": "Bench client"})
    client_id = re.search(r'<code id="client_id">(client_[a-z0-9]+)</code>', created).group(1)
    secret = re.search(r'aria-labelledby="secret-label">(cs_[A-Za-z0-9_-]+)</p>', created).group(1)
    app = re.search(r'/sandbox/apps/(app_[a-z0-9]+)', created).group(1)
    page(f"{apps}/{app}/subscriptions", {"_csrf": csrf(page(f"{apps}/{app}")), "product": "balances"})

    basic = "Basic " + base64.b64encode(f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}".encode()).decode()
    req = urllib.request.Request(base + "/oauth/token", data=b"grant_type=client_credentials&scope=balances%3Aread",
                                 headers={"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
    token = __import__("json").loads(urllib.request.urlopen(req).read())["access_token"]

    # ---------------------------------------------------------------- measuring
    lua = os.path.join(var, "token.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write('wrk.body = "grant_type=client_credentials&scope=balances%3Aread"\n')
        f.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
        f.write(f'wrk.headers["Authorization"] = "{basic}"\n')

    def wrk(extra, path, duration=a.duration):
        out = subprocess.run(["taskset", "-c", a.cpu_wrk, "wrk", "-t1", "-c64", f"-d{duration}", "--latency"] + extra + [base + path],
                             capture_output=True, text=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
        ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else float("nan")
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return rps, ms, int(non2xx.group(1)) if non2xx else 0

    wrk(["-s", lua], "/oauth/token", "2s")
    runs = [wrk(["-s", lua], "/oauth/token") for _ in range(int(a.rounds))]
    say("POST /oauth/token client_credentials (64 connections, %s rounds): %.0f tokens/s, p99 %.2f ms%s"
        % (a.rounds, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
           "" if not any(r[2] for r in runs) else f"  warning: {sum(r[2] for r in runs)} refused"))

    # Hummingbird's plaintext anchor, built by the harness in pass 1 (or any earlier run).
    hb_bin = os.path.join(a.work, "build", "HBAnchor", "release", "HBAnchor")
    hb = None
    if a.harness and os.access(hb_bin, os.X_OK):
        hb_var = os.path.join(var, "hb")
        os.makedirs(hb_var, exist_ok=True)
        hb = subprocess.Popen(["taskset", "-c", a.cpu_server, hb_bin], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PORT=str(a.hb_port), ANCHOR_ASSETS=os.path.join(a.harness, "assets"),
                                       ANCHOR_DB=os.path.join(hb_var, "anchor-hb.db")))
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{a.hb_port}/plaintext", timeout=2).status == 200: break
            except OSError:
                time.sleep(0.1)
    else:
        say(f"  (no Hummingbird anchor at {hb_bin}: run pass 1 once, or BUILD=1, for the ratio to it)")

    def hb_wrk():
        out = subprocess.run(["taskset", "-c", a.cpu_wrk, "wrk", "-t1", "-c64", f"-d{a.duration}", "--latency",
                              f"http://127.0.0.1:{a.hb_port}/plaintext"], capture_output=True, text=True).stdout
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 0.0, 0

    try:
        per = {"key": [], "token": [], "hb": []}
        kinds = ("key", "token", "hb") if hb else ("key", "token")
        for r in range(int(a.rounds)):
            for kind in (kinds if r % 2 == 0 else tuple(reversed(kinds))):
                if kind == "hb":
                    per[kind].append(hb_wrk())
                else:
                    per[kind].append(wrk(["-H", f"Authorization: Bearer {api_key if kind == 'key' else token}"], "/v1/balances"))
    finally:
        if hb:
            hb.terminate()
            hb.wait(timeout=30)
    med = {k: statistics.median(x[0] for x in v) for k, v in per.items() if v}
    p99 = {k: statistics.median(x[1] for x in v) for k, v in per.items() if v}
    say("GET /v1/balances (64 connections, alternating rounds): OAuth token %.0f req/s, p99 %.2f ms; API key %.0f req/s, p99 %.2f ms: the token is %.2fx the key"
        % (med["token"], p99["token"], med["key"], p99["key"], med["token"] / med["key"]))
    if hb:
        say("  beside Hummingbird's plaintext (%.0f req/s) in the same rounds: the token %.2fx, the key %.2fx  [goal >= 0.5x, p99 < 10 ms]"
            % (med["hb"], med["token"] / med["hb"], med["key"] / med["hb"]))
    refused = sum(x[2] for v in per.values() for x in v)
    if refused:
        say(f"  warning: {refused} calls were refused")
finally:
    stop()
