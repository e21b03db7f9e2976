import Foundation
import Testing
@testable import Security

@Suite struct StandardWebhooksTests {
    // The Standard Webhooks specification's published example.
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1614265330
    static let body = bytes(#"{"test": 2432232314}"#)
    static let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    @Test func theSpecificationsExampleSignature() {
        #expect(StandardWebhooks.signature(secret: Self.secret, id: Self.id, timestamp: Self.timestamp, body: Self.body) == Self.expected)
        #expect(StandardWebhooks.verify(secret: Self.secret, id: Self.id, timestamp: "1614265330", signatureHeader: Self.expected,
                                        body: Self.body, now: Self.timestamp) == .valid)
    }

    func verify(secret: String = secret, id: String = id, timestamp: String = "1614265330", header: String = expected,
                body: [UInt8] = body, now: Int64 = timestamp) -> StandardWebhooks.Verdict {
        StandardWebhooks.verify(secret: secret, id: id, timestamp: timestamp, signatureHeader: header, body: body, now: now)
    }

    @Test func tamperingIsNoMatch() {
        #expect(verify(body: Self.body + [0x0A]) == .noMatch)                       // a trailing newline
        #expect(verify(body: bytes(#"{"test":2432232314}"#)) == .noMatch)           // re-serialized JSON
        #expect(verify(body: bytes(#"{"test": 2432232315}"#)) == .noMatch)
        #expect(verify(secret: StandardWebhooks.makeSecret()) == .noMatch)          // wrong secret
        #expect(verify(id: "msg_other") == .noMatch)
        // The signed timestamp is part of the content: another one inside the window fails too.
        #expect(verify(timestamp: "1614265331", now: Self.timestamp) == .noMatch)
        #expect(verify(header: "v1," + String(Self.expected.dropFirst(3).reversed())) == .noMatch)
        #expect(verify(header: "v2," + Self.expected.dropFirst(3)) == .noMatch)     // only v1 entries count
    }

    @Test func theTimestampMustBeWithinFiveMinutes() {
        #expect(verify(now: Self.timestamp + 300) == .valid)
        #expect(verify(now: Self.timestamp - 300) == .valid)
        #expect(verify(now: Self.timestamp + 301) == .timestampTooOld(seconds: 301))
        #expect(verify(now: Self.timestamp + 86_400) == .timestampTooOld(seconds: 86_400))
        #expect(verify(now: Self.timestamp - 301) == .timestampInFuture(seconds: 301))
        #expect(StandardWebhooks.verify(secret: Self.secret, id: Self.id, timestamp: "1614265330", signatureHeader: Self.expected,
                                        body: Self.body, now: Self.timestamp + 1000, tolerance: 1000) == .valid)
    }

    @Test func malformedInputsAreNamed() {
        #expect(verify(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == .malformedSecret)   // no prefix
        #expect(verify(secret: "whsec_not base64!") == .malformedSecret)
        #expect(verify(secret: "whsec_c2hvcnQ=") == .malformedSecret)                    // 5-byte key
        #expect(verify(secret: "whsec_") == .malformedSecret)
        #expect(verify(id: "") == .missingHeaders)
        #expect(verify(timestamp: "") == .missingHeaders)
        #expect(verify(header: "") == .missingHeaders)
        #expect(verify(timestamp: "1614265330.5") == .missingHeaders)
        #expect(verify(timestamp: "-1") == .missingHeaders)
        #expect(verify(header: "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") == .malformedSignatureHeader)
        #expect(StandardWebhooks.signature(secret: "whsec_!!", id: "a", timestamp: 1, body: []) == nil)
    }

    @Test func rotationSignsWithEverySecretAndEitherVerifies() throws {
        let old = Self.secret, new = StandardWebhooks.makeSecret()
        let header = StandardWebhooks.header(secrets: [new, old], id: Self.id, timestamp: Self.timestamp, body: Self.body)
        let entries = header.split(separator: " ").map(String.init)
        #expect(entries.count == 2)
        #expect(entries[1] == Self.expected)
        #expect(verify(secret: old, header: header) == .valid)
        #expect(verify(secret: new, header: header) == .valid)
        #expect(verify(secret: StandardWebhooks.makeSecret(), header: header) == .noMatch)
    }

    @Test func secretsAreFreshThirtyTwoByteKeys() {
        let a = StandardWebhooks.makeSecret(), b = StandardWebhooks.makeSecret()
        #expect(a != b)
        #expect(a.hasPrefix("whsec_"))
        #expect(StandardWebhooks.key(a)?.count == 32)
    }

    // MARK: - The reference library

    /// Runs the PyPI package `standardwebhooks` (Tests/requirements.txt) on a request.
    func reference(_ request: [String: String]) throws -> [String: String] {
        let script = """
            import base64, json, sys
            from datetime import datetime, timezone
            from standardwebhooks import Webhook
            r = json.load(sys.stdin)
            body = base64.b64decode(r["body"])
            if r["op"] == "verify":
                try:
                    Webhook(r["secret"]).verify(body, {"webhook-id": r["id"], "webhook-timestamp": r["timestamp"],
                                                       "webhook-signature": r["signature"]}, json_parse=False)
                    out = "valid"
                except Exception as e:
                    out = type(e).__name__ + ": " + str(e)
            else:
                out = Webhook(r["secret"]).sign(r["id"], datetime.fromtimestamp(int(r["timestamp"]), tz=timezone.utc), body)
            json.dump({"result": out}, sys.stdout)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(try JSONEncoder().encode(request))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 with standardwebhooks (pip install -r Tests/requirements.txt): \(problem)")
        return try JSONDecoder().decode([String: String].self, from: data)
    }

    @Test func theReferenceLibraryAcceptsOurSignatures() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let body = bytes(#"{"type":"payout.paid","data":{"amount":"12.50","note":"café ☕"}}"#) + [0xFF, 0x00]
        let first = StandardWebhooks.makeSecret(), second = StandardWebhooks.makeSecret()
        for secrets in [[first], [first, second]] {
            let header = StandardWebhooks.header(secrets: secrets, id: "msg_2Lx", timestamp: now, body: body)
            for secret in secrets {
                let answer = try reference(["op": "verify", "secret": secret, "id": "msg_2Lx", "timestamp": String(now),
                                            "signature": header, "body": Base64.encode(body)])
                #expect(answer["result"] == "valid")
            }
            // And the reference library tells a forgery apart, so the check above can fail.
            let forged = try reference(["op": "verify", "secret": StandardWebhooks.makeSecret(), "id": "msg_2Lx",
                                        "timestamp": String(now), "signature": header, "body": Base64.encode(body)])
            #expect(forged["result"]?.hasPrefix("WebhookVerificationError") == true)
        }
    }

    @Test func weVerifyTheReferenceLibrarysSignatures() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let secret = StandardWebhooks.makeSecret()
        let body = bytes(#"{"id":"evt_1","amount":4200}"#)
        let signed = try reference(["op": "sign", "secret": secret, "id": "msg_ref", "timestamp": String(now), "body": Base64.encode(body)])
        let header = try #require(signed["result"])
        #expect(header == StandardWebhooks.signature(secret: secret, id: "msg_ref", timestamp: now, body: body))
        #expect(StandardWebhooks.verify(secret: secret, id: "msg_ref", timestamp: String(now), signatureHeader: header, body: body, now: now) == .valid)
        #expect(StandardWebhooks.verify(secret: secret, id: "msg_ref", timestamp: String(now), signatureHeader: header, body: body + [0x20], now: now) == .noMatch)
        let vector = try reference(["op": "sign", "secret": Self.secret, "id": Self.id, "timestamp": String(Self.timestamp), "body": Base64.encode(Self.body)])
        #expect(vector["result"] == Self.expected)
    }
}
