import Foundation
import Testing

/// `scripts/check-boundaries` (run by `make test`) on a copy of `Sources/Portal`, with a
/// violation planted in the copy: the rule holds only if the script sees it.
@Suite("scripts/check-boundaries")
struct BoundaryCheckTests {
    /// Runs the script on a copy of the tree after `plant` edits the copy's `Team/Team.swift`.
    func check(planting plant: (String) -> String = { $0 }) throws -> (status: Int32, out: String) {
        let dir = NSTemporaryDirectory() + "portal-boundaries-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/scripts", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/Sources", withIntermediateDirectories: true)
        try fm.copyItem(atPath: repoRoot + "/scripts/check-boundaries", toPath: dir + "/scripts/check-boundaries")
        try fm.copyItem(atPath: repoRoot + "/Sources/Portal", toPath: dir + "/Sources/Portal")
        let team = dir + "/Sources/Portal/Team/Team.swift"
        try plant(try String(contentsOfFile: team, encoding: .utf8)).write(toFile: team, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", dir + "/scripts/check-boundaries"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let extraMethod = "\n    func probe(_ db: Connection) throws -> Bool {\n        %@\n    }\n}\n"

    func planting(_ line: String) -> (String) -> String {
        { source in source + "\nextension Team {" + Self.extraMethod.replacingOccurrences(of: "%@", with: line) }
    }

    @Test func theTreeAsItIsPasses() throws {
        let r = try check()
        #expect(r.status == 0, "\(r.out)")
    }

    @Test func anotherFeaturesStoreTypeIsRefused() throws {
        let r = try check(planting: planting("try AccountsStore().user(id: 1, on: db) != nil"))
        #expect(r.status == 1)
        #expect(r.out.contains("AccountsStore belongs to Accounts/"), "\(r.out)")
    }

    /// The store reached through the owning service's `store` property names no store type.
    @Test func anotherFeaturesStoreThroughItsServiceIsRefused() throws {
        let r = try check(planting: planting("try accounts.store.user(id: 1, on: db) != nil"))
        #expect(r.status == 1)
        #expect(r.out.contains("accounts.store belongs to Accounts/"), "\(r.out)")
    }
}
