import Foundation
import Testing

/// The `portal` executable as a newcomer and the automated checks run it.
@Suite("portal command line")
struct CommandLineTests {
    /// The built executable sits beside the test bundle (`swift test` builds it too).
    static let binary: String = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [dir.appendingPathComponent("portal").path, repoRoot + "/.build/debug/portal"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    func run(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func versionAndHelp() throws {
        let v = try run(["--version"])
        #expect(v.status == 0)
        #expect(v.out.contains("0."))
        let help = try run(["serve", "--help"])
        #expect(help.status == 0)
        for flag in ["--host", "--port", "--db", "--public", "--templates", "PORTAL_PORT",
                     "--api-auth-failures-rate", "--api-auth-failure-delay", "PORTAL_API_AUTH_FAILURES_RATE"] {
            #expect(help.out.contains(flag), "serve --help lacks \(flag)")
        }
    }

    @Test func migrateCreatesTheDatabaseAndIsIdempotent() throws {
        let dir = NSTemporaryDirectory() + "portal-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/nested/portal.sqlite"
        let first = try run(["migrate", "--db", db])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("0001_init.sql"))
        #expect(FileManager.default.fileExists(atPath: db))
        let second = try run(["migrate"], env: ["PORTAL_DB": db])
        #expect(second.status == 0)
        #expect(second.out.contains("up to date"))
    }

    @Test func badFlagIsAClearErrorNotACrash() throws {
        let r = try run(["serve", "--port", "99999"])
        #expect(r.status != 0)
        #expect(r.err.contains("port"))
    }

    @Test func aBadFailureBudgetIsAClearError() throws {
        let rate = try run(["serve", "--api-auth-failures-rate", "0"])
        #expect(rate.status != 0 && rate.err.contains("--api-auth-failures-rate must be positive"), "\(rate.err)")
        let delay = try run(["serve", "--api-auth-failure-delay", "61"])
        #expect(delay.status != 0 && delay.err.contains("--api-auth-failure-delay must be 0-60 seconds"), "\(delay.err)")
    }

    @Test func serveAnswersThenStopsCleanlyOnSIGTERM() throws {
        let dir = NSTemporaryDirectory() + "portal-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["serve", "--port", "0", "--db", dir + "/p.sqlite"]
        p.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // The log line "msg=listening ... port=N" says where it listens.
        var log = ""
        var port: Int?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
            if let line = log.split(separator: "\n").first(where: { $0.contains("msg=listening") }),
               let field = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }) {
                port = Int(field.dropFirst(5))
            }
        }
        let listening = try #require(port, "no listening line in: \(log)")
        let health = try TestResponse(parsing: {
            let s = try Socket(port: listening)
            s.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            return s.readAll()
        }(), headRequest: false)
        #expect(health.status == 200)
        #expect(FileManager.default.fileExists(atPath: dir + "/p.sqlite"))

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        log += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("msg=stopped"))
        #expect(log.contains("path=/healthz"))
    }
}

extension CommandLineTests {
    @Test func createStaffPrintsASingleUseSetupLinkWithTheBaseURL() throws {
        let dir = NSTemporaryDirectory() + "portal-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/p.sqlite"
        let args = ["create-staff", "--db", db, "--scrypt-log-n", "10", "--email", "sam@operator.example", "--name", "Sam Support",
                    "--base-url", "https://portal.example.com/"]
        let first = try run(args)
        #expect(first.status == 0, "\(first.err)")
        let link = first.out.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("https://") }.map(String.init)
        #expect(link?.hasPrefix("https://portal.example.com/setup-account?token=") == true, "\(first.out)")
        #expect(link.map { $0.count - "https://portal.example.com/setup-account?token=".count } == 43)
        // Not set up yet: asking again replaces the link.
        let second = try run(args)
        #expect(second.status == 0, "\(second.err)")
        let again = second.out.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("https://") }.map(String.init)
        #expect(again != nil && again != link)
        let bad = try run(["create-staff", "--db", db, "--scrypt-log-n", "10", "--email", "nope", "--name", "X"])
        #expect(bad.status != 0)
        #expect(bad.err.contains("valid e-mail address"))
        #expect(!bad.out.contains("http"))
        let missing = try run(["create-staff", "--db", db, "--email", "x@operator.example"])
        #expect(missing.status != 0)
        #expect(missing.err.contains("--name"))
    }
}

extension CommandLineTests {
    /// `portal seed-demo` with no options is what the README and `make bench` run: its default
    /// password must pass the same policy as everyone's (it once contained the demo address).
    @Test func seedDemoWithItsDefaultsSignsInAsPrinted() throws {
        let dir = NSTemporaryDirectory() + "portal-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["seed-demo", "--db", dir + "/p.sqlite", "--scrypt-log-n", "10"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("E-mail:      demo@portal.localhost"))
        #expect(r.out.contains("TOTP secret: "))
    }
}

extension CommandLineTests {
    /// The demo account's name obeys the sign-up rule for names: no control or bidi
    /// characters (they come back raw in pages, mails and logs.csv), not empty.
    @Test func seedDemoRefusesANameSignUpWouldRefuse() throws {
        let dir = NSTemporaryDirectory() + "portal-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["Eve\u{202E}gnp.exe", "Eve\u{1B}[2J", "  "] {
            let r = try run(["seed-demo", "--db", dir + "/p.sqlite", "--scrypt-log-n", "10", "--name", name])
            #expect(r.status != 0, "\(name.debugDescription) was accepted")
            #expect(r.err.contains("cannot create the demo account"), "\(r.err)")
        }
        #expect(try run(["seed-demo", "--db", dir + "/p.sqlite", "--scrypt-log-n", "10", "--name", "Zoë Ndiaye"]).status == 0)
    }
}
