import Foundation
import Testing
import TestSupport
@testable import Outbound

/// TLS failures as the delivery log words them, against `openssl s_server` on loopback with
/// certificates made by the `openssl` command for the test.
@Suite(.serialized) struct TLSTests {
    /// Runs `openssl` with `arguments` in `directory`; throws unless it succeeds.
    static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " "))")
    }

    /// A CA and, signed by it, a leaf for `commonName` valid for `days` (-1: already expired).
    static func certificates(commonName: String, days: Int) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbound-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
                     "-out", "ca.pem", "-subj", "/CN=Outbound Test CA", "-days", "30"], in: directory)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "leaf.key",
                     "-out", "leaf.csr", "-subj", "/CN=\(commonName)"], in: directory)
        try "subjectAltName=DNS:\(commonName)\n".write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "leaf.pem", "-days", String(days), "-extfile", "ext.cnf"], in: directory)
        return directory
    }

    /// `openssl s_server` on a free loopback port with the leaf certificate; stopped by the caller.
    static func server(_ directory: String) throws -> (Process, Int) {
        let probe = try TestHTTPReceiver()
        let port = probe.port
        probe.stop()
        usleep(50_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", "leaf.pem", "-key", "leaf.key", "-quiet", "-www"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when it accepts a connection.
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return (process, port) }
            usleep(50_000)
        }
        kill(process.processIdentifier, SIGKILL) // s_server does not stop on SIGTERM
        process.waitUntilExit()
        throw POSIXError(.ECONNREFUSED)
    }

    func post(directory: String, trustCA: Bool, host: String = "127.0.0.1", timeout: Double = 5) throws -> OutboundError? {
        let (server, port) = try Self.server(directory)
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let dns: OutboundClient.Resolver = { (_: String) throws(OutboundError) -> [IPAddress] in [.v4(0x7F00_0001)] }
        let client = OutboundClient(policy: .allowPrivate, userAgent: "test", maxIdleHandles: 1, resolver: dns,
                                    checksBeforeConnecting: true, caFile: trustCA ? directory + "/ca.pem" : nil)
        var request = OutboundRequest(url: "https://\(host):\(port)/", headers: [], body: Array("{}".utf8))
        request.totalTimeout = timeout
        do {
            _ = try client.post(request)
            return nil
        } catch {
            return error
        }
    }

    @Test func anExpiredCertificateIsNamed() throws {
        let directory = try Self.certificates(commonName: "hooks.example.test", days: -1)
        let error = try post(directory: directory, trustCA: true, host: "hooks.example.test")
        #expect(error == .tls("TLS certificate has expired"))
    }

    @Test func anUntrustedCertificateIsNamed() throws {
        let directory = try Self.certificates(commonName: "hooks.example.test", days: 30)
        let error = try post(directory: directory, trustCA: false, host: "hooks.example.test")
        #expect(error == .tls("TLS certificate is not signed by a trusted authority"))
    }

    @Test func aCertificateForAnotherNameIsNamed() throws {
        let directory = try Self.certificates(commonName: "other.example.test", days: 30)
        let error = try post(directory: directory, trustCA: true, host: "hooks.example.test")
        #expect(error == .tls("TLS certificate does not match the host name"))
    }

    @Test func aValidCertificateGetsThrough() throws {
        let directory = try Self.certificates(commonName: "hooks.example.test", days: 30)
        // s_server -www answers only GET: a POST gets through the handshake and then no HTTP
        // answer, which is not a TLS error.
        let error = try post(directory: directory, trustCA: true, host: "hooks.example.test", timeout: 1)
        #expect(error != nil)
        if case .tls(let message) = error { Issue.record("unexpected TLS error: \(message)") }
    }
}
