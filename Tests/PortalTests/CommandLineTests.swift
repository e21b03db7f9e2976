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
        for flag in ["--host", "--port", "--db", "--public", "--templates", "PORTAL_PORT"] {
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
