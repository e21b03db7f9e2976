import Database
import Foundation
import Logging
import Outbound
import Security

/// Delivers the webhook queue: a coordinator thread that owns every write (fan-out of new
/// events into deliveries, claiming due deliveries with a lease, recording results in
/// batches, one transaction per batch), and sender threads of its own that POST through
/// ``OutboundClient`` (blocking libcurl, never the event loop).
///
/// Why not the house job worker: it has 2 threads shared with mail, and one receiver that
/// holds for 15 s would stall them; here 16 senders run, at most 4 for any one endpoint, so
/// a slow receiver holds 4 threads at most and the others keep their rate.
///
/// At-least-once: a delivery is leased for 60 s when claimed; if the process stops before its
/// result is written, the lease runs out and it is sent again, with the same `webhook-id`.
final class WebhookDispatcher: @unchecked Sendable {
    let webhooks: Webhooks
    let client: OutboundClient
    let logger: Logger
    let senders: Int
    let perEndpoint: Int
    /// How long a claimed delivery is held before another claim may take it (after a crash,
    /// the wait before it is sent again). An endpoint's queue here is sent within
    /// `leasedPerEndpoint / perEndpoint` waves of at most 20 s (5 s to connect, 15 to answer):
    /// 40 s, inside the lease, so a delivery waiting behind a receiver that holds is never
    /// claimed twice.
    static let lease: Int64 = 60
    /// Deliveries leased per endpoint at most: two rounds of its senders, so a sender finds
    /// the next one waiting when one ends.
    var leasedPerEndpoint: Int { perEndpoint * 2 }
    static let fanOutBatch = 1000

    private let lock = NSCondition()
    private var work: [Work] = []
    private var results: [Result] = []
    /// Leased deliveries not yet settled, per endpoint (waiting, being sent, or with a result
    /// not yet written).
    private var inFlight: [Int64: Int] = [:]
    /// POSTs under way, per endpoint: never more than `perEndpoint`.
    private var sending: [Int64: Int] = [:]
    private var stopping = false
    private var running = 0
    private var threads: [Thread] = []

    struct Work {
        let deliveryID: Int64
        let attempts: Int
        let endpoint: WebhookEndpoint
        let event: EventRecord
    }

    struct Result {
        let work: Work
        let at: Int64
        let durationMs: Int
        let requestHeaders: String
        let requestBody: String
        let status: Int?
        let responseHeaders: [(String, String)]
        let responseBody: [UInt8]
        let error: String?
    }

    init(webhooks: Webhooks, client: OutboundClient, senders: Int = 16, perEndpoint: Int = 4, logger: Logger) {
        self.webhooks = webhooks
        self.client = client
        self.senders = senders
        self.perEndpoint = perEndpoint
        self.logger = logger
    }

    var clock: PortalClock { webhooks.clock }
    var store: WebhooksStore { webhooks.store }
    var database: Database { webhooks.database }

    /// Sending is background work: the senders run at a lower scheduling weight (on Linux
    /// `setpriority` with 0 names the calling thread), so page requests keep most of a busy
    /// core. The coordinator keeps the normal weight: it does little work, but every delivery
    /// waits for its claims and writes.
    ///
    /// Nice 5 weighs a sender at a third of a page worker. Measured on one core with GET
    /// /account at 64 connections meanwhile (bench-webhooks phase 1): nice 19 sent ~150
    /// deliveries/s while the pages ran (the backlog went out only once they stopped), nice 8
    /// ~1,200/s, nice 5 ~1,600/s, with /account p99 11.1-11.6 ms at all three (goal < 20 ms).
    static let senderNice: Int32 = 5

    private static func yieldToPages() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, senderNice)
        #endif
    }

    func start() {
        lock.lock()
        stopping = false
        lock.unlock()
        // Named from inside: on Linux only the running thread can name itself.
        let coordinator = Thread { [self] in Thread.current.name = "webhooks-coord"; coordinate() }
        threads.append(coordinator)
        for i in 0..<senders {
            let t = Thread { [self] in Thread.current.name = "webhooks-send-\(i)"; Self.yieldToPages(); send() }
            t.stackSize = 1 << 20
            threads.append(t)
        }
        lock.lock()
        running = threads.count
        lock.unlock()
        threads.forEach { $0.start() }
    }

    /// Stops claiming; lets the POSTs under way finish (bounded by `timeout`) and records
    /// their results; what is left is retried after its lease by the next start.
    func stop(timeout: Double = 20) {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
        webhooks.wakeup.signal()
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        while running > 0 && Date() < deadline { _ = lock.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.05))); webhooks.wakeup.signal() }
        lock.unlock()
    }

    // MARK: - the coordinator

    private func coordinate() {
        defer { finished() }
        while true {
            lock.lock()
            let stop = stopping
            lock.unlock()
            var busy = false
            do {
                if stop {
                    _ = try settleAndClaim(claiming: false)
                    // Wait for the senders to hand back what they are sending, then write it.
                    lock.lock()
                    let pending = running > 1 || !results.isEmpty
                    lock.unlock()
                    if !pending { return }
                    webhooks.wakeup.wait(0.02)
                    continue
                }
                busy = try fanOut()
                busy = try settleAndClaim(claiming: true) || busy
            } catch {
                logger.error("webhook dispatcher failed a round", metadata: ["error": "\(error)"])
                webhooks.wakeup.wait(1)
                continue
            }
            if !busy { webhooks.wakeup.wait(0.1) }
        }
    }

    private func finished() {
        lock.lock()
        running -= 1
        lock.broadcast()
        lock.unlock()
    }

    /// Turns new event rows into deliveries for the endpoints that want them; moves the cursor.
    private func fanOut() throws -> Bool {
        // Idle rounds only read (a WAL reader): the writer is taken when there is work.
        let pending = try database.read { db in
            !(try webhooks.events.after(id: try store.cursor(on: db), limit: 1, on: db)).isEmpty
        }
        guard pending else { return false }
        return try database.write { db -> Bool in
            let cursor = try store.cursor(on: db)
            let batch = try webhooks.events.after(id: cursor, limit: Self.fanOutBatch, on: db)
            guard let last = batch.last else { return false }
            let endpoints = try store.endpoints(organizationIDs: Array(Set(batch.map(\.organizationID))), on: db)
            if !endpoints.isEmpty {
                let now = clock.now()
                for event in batch where event.type != WebhookCatalogue.test {
                    for e in endpoints where e.organizationID == event.organizationID && e.environment == event.environment && e.wants(event.type) {
                        _ = try store.insertDelivery(publicID: PublicID.make("whd"), endpointID: e.id, eventID: event.id, eventType: event.type,
                                                     replayOf: nil, disabled: !e.enabled, at: now, on: db)
                    }
                }
            }
            try store.moveCursor(to: last.id, on: db)
            return true
        }
    }

    /// Writes the results the senders handed back and leases due deliveries for the senders,
    /// in one transaction (one `fsync` a round, not one for each): up to twice as many as
    /// there are senders overall, and ``leasedPerEndpoint`` for any one endpoint, so the
    /// senders find the next delivery waiting when one ends. An endpoint never has more than
    /// `perEndpoint` POSTs under way (``send()``), and what waits for it is sent inside the
    /// lease (see ``lease``).
    private func settleAndClaim(claiming: Bool) throws -> Bool {
        lock.lock()
        let batch = results
        results = []
        var counts = inFlight
        lock.unlock()
        for r in batch { counts[r.work.endpoint.id, default: 1] -= 1 }
        let room = claiming ? senders * 2 - counts.values.reduce(0, +) : 0
        let now = clock.now()
        // Idle rounds only read (a WAL reader): the writer is taken when there is work.
        let candidates = try room > 0
            ? database.read { try store.dueEndpoints(now: now, on: $0) }.filter { counts[$0, default: 0] < leasedPerEndpoint }
            : []
        var claimed: [Work] = []
        if !batch.isEmpty || !candidates.isEmpty {
            do {
                claimed = try database.write { db -> [Work] in
                    for r in batch { try record(r, now: now, on: db) }
                    var out: [Work] = []
                    for endpointID in candidates where out.count < room {
                        let want = min(room - out.count, leasedPerEndpoint - counts[endpointID, default: 0])
                        guard want > 0, let e = try store.endpoint(id: endpointID, on: db), e.enabled else { continue }
                        for d in try store.due(endpointID: endpointID, now: now, limit: want, on: db) {
                            guard let event = try webhooks.events.event(id: d.eventID, on: db),
                                  try store.lease(deliveryID: d.deliveryID, until: now + Self.lease, now: now, on: db) else { continue }
                            counts[endpointID, default: 0] += 1
                            out.append(Work(deliveryID: d.deliveryID, attempts: d.attempts, endpoint: e, event: event))
                        }
                    }
                    return out
                }
            } catch {
                // The batch's results are lost with the transaction: their leases run out and
                // they are sent again (at least once). Their endpoints' counts are freed all the same.
                settled(batch, claimed: [])
                throw error
            }
        }
        settled(batch, claimed: claimed)
        return !batch.isEmpty || !claimed.isEmpty
    }

    private func settled(_ batch: [Result], claimed: [Work]) {
        lock.lock()
        for r in batch {
            inFlight[r.work.endpoint.id, default: 1] -= 1
            if inFlight[r.work.endpoint.id] == 0 { inFlight[r.work.endpoint.id] = nil }
        }
        for w in claimed { inFlight[w.endpoint.id, default: 0] += 1 }
        work.append(contentsOf: claimed)
        // One sender woken per new delivery, not all of them: most would find nothing they may
        // take and sleep again, a context switch each (a fifth of the core at 2,000/s).
        for _ in 0..<min(claimed.count, senders) { lock.signal() }
        lock.unlock()
    }

    private func record(_ r: Result, now: Int64, on db: Connection) throws {
        let number = r.work.attempts + 1
        var state = WebhookDeliveryState.pending
        var next: Int64?
        let success = r.status.map { (200..<300).contains($0) } ?? false
        if success {
            state = .succeeded
            try store.markSuccess(endpointID: r.work.endpoint.id, at: r.at, on: db)
        } else if r.status == 410 {
            state = .failed
            try webhooks.disableGone(endpointID: r.work.endpoint.id, on: db)
        } else {
            try store.markFailure(endpointID: r.work.endpoint.id, at: r.at, on: db)
            // Disabled while this attempt was in flight: it fails like the deliveries that
            // were waiting (so enabling offers to replay it) instead of scheduling a retry.
            let stillEnabled = try store.endpoint(id: r.work.endpoint.id, on: db)?.enabled ?? false
            if !stillEnabled {
                state = .failed
            } else if var delay = WebhookSchedule.delay(afterAttempts: number) {
                if let status = r.status, status == 429 || status == 503,
                   let header = r.responseHeaders.first(where: { $0.0.lowercased() == "retry-after" }),
                   let asked = WebhookSchedule.retryAfter(header.1, now: now) {
                    delay = max(asked, 1)
                }
                next = r.at + delay
            } else {
                state = .failed
            }
        }
        let headers = r.responseHeaders.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
        try store.insertAttempt(WebhooksStore.NewAttempt(
            deliveryID: r.work.deliveryID, number: number, at: r.at, durationMs: r.durationMs, url: r.work.endpoint.url,
            requestHeaders: r.requestHeaders, requestBody: r.requestBody, responseStatus: r.status, responseHeaders: r.status == nil ? nil : headers,
            responseBody: r.status == nil ? nil : r.responseBody, error: r.error, nextAttemptAt: next), on: db)
        let error = r.error ?? (success ? nil : r.status.map { "HTTP \($0)" })
        try store.settle(deliveryID: r.work.deliveryID, attempts: number, state: state, next: next, status: r.status, error: error, at: r.at, on: db)
    }

    // MARK: - the senders

    /// Takes the first waiting delivery whose endpoint has fewer than `perEndpoint` POSTs
    /// under way, sends it, hands the result back.
    private func send() {
        defer { finished() }
        while true {
            lock.lock()
            var next: Int?
            while true {
                next = work.firstIndex { sending[$0.endpoint.id, default: 0] < perEndpoint }
                if next != nil || (work.isEmpty && stopping) { break }
                lock.wait()
            }
            guard let i = next else { lock.unlock(); return }
            let w = work.remove(at: i)
            sending[w.endpoint.id, default: 0] += 1
            lock.unlock()
            let r = deliver(w)
            lock.lock()
            sending[w.endpoint.id, default: 1] -= 1
            if sending[w.endpoint.id] == 0 { sending[w.endpoint.id] = nil }
            results.append(r)
            // This sender takes the next delivery itself; another is woken only when more than
            // one may now be sent (a slot freed here while this one takes another endpoint's).
            if work.lazy.filter({ self.sending[$0.endpoint.id, default: 0] < self.perEndpoint }).prefix(2).count > 1 { lock.signal() }
            lock.unlock()
            webhooks.wakeup.signal()
        }
    }

    /// One POST: the envelope, signed with every active secret.
    func deliver(_ w: Work) -> Result {
        let now = clock.now()
        let e = w.event
        let body = WebhookCatalogue.envelope(id: e.publicID, type: e.type, created: e.createdAt, environment: e.environment, data: e.data)
        let bytes = Array(body.utf8)
        var headers: [(String, String)] = [("Content-Type", "application/json"), ("webhook-id", e.publicID), ("webhook-timestamp", String(now))]
        let start = Date()
        do {
            let secrets = try webhooks.signingSecrets(w.endpoint, now: now)
            headers.append(("webhook-signature", StandardWebhooks.header(secrets: secrets, id: e.publicID, timestamp: now, body: bytes)))
        } catch {
            logger.error("webhook secret cannot be opened", metadata: ["endpoint": "\(w.endpoint.publicID)"])
            return Result(work: w, at: now, durationMs: 0, requestHeaders: Self.text(headers), requestBody: body, status: nil, responseHeaders: [],
                          responseBody: [], error: "the signing secret cannot be read (server key changed?)")
        }
        let request = OutboundRequest(url: w.endpoint.url, headers: headers, body: bytes)
        do {
            let response = try client.post(request)
            return Result(work: w, at: now, durationMs: Int(response.duration * 1000), requestHeaders: Self.text(headers), requestBody: body,
                          status: response.status, responseHeaders: response.headers, responseBody: response.body,
                          error: (300..<400).contains(response.status) ? "redirects are not followed" : nil)
        } catch {
            return Result(work: w, at: now, durationMs: Int(Date().timeIntervalSince(start) * 1000), requestHeaders: Self.text(headers),
                          requestBody: body, status: nil, responseHeaders: [], responseBody: [], error: error.message)
        }
    }

    /// The request headers as the log shows them (the signature is not a secret: it proves
    /// one body, once).
    static func text(_ headers: [(String, String)]) -> String {
        headers.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
    }
}
