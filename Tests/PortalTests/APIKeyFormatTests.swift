import Foundation
import Security
import Synchronization
import Testing
@testable import Portal

/// The parts of API keys that need no server: the secret's format and checksum, CIDR blocks,
/// restrictions, and the verifier's cheap reject.
@Suite("API keys: secret format, CIDR allowlists, restrictions")
struct APIKeyFormatTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        // The check value of CRC-32/ISO-HDLC (zlib's, GitHub's) for "123456789".
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func base62IsFixedWidthBigEndian() {
        #expect(Base62.width(forBytes: 32) == 43)
        #expect(Base62.encode([0, 0, 0, 61], width: 3) == "00z")
        #expect(Base62.encode([0, 62], width: 3) == "010")
        #expect(Base62.encode(UInt32.max, width: 6) == "4gfFC3")   // 4294967295 in base62
        #expect(Base62.encode([UInt8](repeating: 0xFF, count: 32), width: 43).count == 43)
    }

    @Test func secretsHaveThePrefixLengthAndAChecksumThatParses() throws {
        for env in Environment.allCases {
            let s = APIKeySecret.make(env)
            #expect(s.text.hasPrefix(env == .sandbox ? "sk_sandbox_" : "sk_live_"))
            #expect(s.text.count == APIKeySecret.prefix(env).count + 43 + 6)
            #expect(s.text.dropFirst(APIKeySecret.prefix(env).count).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            let parsed = try #require(APIKeySecret.parse(s.text))
            #expect(parsed == s && parsed.environment == env)
            #expect(s.displayPrefix == String(s.text.prefix(APIKeySecret.prefix(env).count + 4)))
            #expect(s.last4 == String(s.text.suffix(4)))
            #expect(s.sha256 == Digest.sha256(s.text))
        }
        // 32 random bytes each time: never the same twice.
        #expect(Set((0..<200).map { _ in APIKeySecret.make(.sandbox).text }).count == 200)
    }

    @Test func aPinnedSecretIsStable() {
        let s = APIKeySecret.make(.sandbox, random: [UInt8](repeating: 0, count: 32))
        #expect(s.text.hasPrefix("sk_sandbox_" + String(repeating: "0", count: 43)))
        let head = "sk_sandbox_" + String(repeating: "0", count: 43)
        #expect(s.text == head + Base62.encode(CRC32.checksum(Array(head.utf8)), width: 6))
    }

    /// Every one-character typo (a change anywhere, a dropped or doubled character) fails the
    /// checksum or the length: caught without a lookup.
    @Test func everyOneCharacterTypoIsCaught() {
        let s = APIKeySecret.make(.sandbox).text
        let chars = Array(s)
        for i in chars.indices {
            var changed = chars
            changed[i] = chars[i] == "a" ? "b" : "a"
            #expect(APIKeySecret.parse(String(changed)) == nil, "changed at \(i)")
            var dropped = chars
            dropped.remove(at: i)
            #expect(APIKeySecret.parse(String(dropped)) == nil)
            var doubled = chars
            doubled.insert(chars[i], at: i)
            #expect(APIKeySecret.parse(String(doubled)) == nil)
        }
        // Swapping two neighbours changes the CRC too.
        var swapped = chars
        if let i = swapped.indices.dropFirst(12).first(where: { swapped[$0] != swapped[$0 + 1] }) { swapped.swapAt(i, i + 1) }
        #expect(APIKeySecret.parse(String(swapped)) == nil)
    }

    @Test(arguments: ["", "sk_", "sk_sandbox_", "sk_test_" + String(repeating: "a", count: 49), "pk_sandbox_" + String(repeating: "a", count: 49),
                      "sk_sandbox_" + String(repeating: "a", count: 48) + "!", "SK_SANDBOX_" + String(repeating: "a", count: 49),
                      "sk_sandbox_" + String(repeating: "é", count: 49)])
    func malformedSecretsDoNotParse(text: String) {
        #expect(APIKeySecret.parse(text) == nil)
    }

    /// A Sandbox secret with its prefix changed to live (and the reverse) fails: the prefix is
    /// under the checksum, so no one can point a key at the other environment.
    @Test func thePrefixIsCoveredByTheChecksum() {
        let sandbox = APIKeySecret.make(.sandbox).text
        let relabelled = "sk_live_" + sandbox.dropFirst("sk_sandbox_".count)
        #expect(APIKeySecret.parse(String(relabelled)) == nil)
    }

    // MARK: - CIDR

    @Test func ipv4Blocks() throws {
        let c = try CIDR(parsing: "203.0.113.0/24")
        #expect(c.description == "203.0.113.0/24")
        #expect(c.contains("203.0.113.0") && c.contains("203.0.113.255"))
        #expect(!c.contains("203.0.114.1") && !c.contains("10.0.0.1") && !c.contains("not an ip") && !c.contains(""))
        let one = try CIDR(parsing: " 127.0.0.1 ")
        #expect(one.description == "127.0.0.1/32")
        #expect(one.contains("127.0.0.1") && !one.contains("127.0.0.2"))
        let all = try CIDR(parsing: "0.0.0.0/0")
        #expect(all.contains("8.8.8.8") && all.contains("::ffff:8.8.8.8"))
        // /0 of IPv4 is IPv4's space only, not the whole of IPv6.
        #expect(!all.contains("2001:db8::1"))
    }

    @Test func ipv6Blocks() throws {
        let c = try CIDR(parsing: "2001:DB8::/32")
        #expect(c.description == "2001:db8::/32")
        #expect(c.contains("2001:db8::1") && c.contains("2001:db8:ffff::1"))
        #expect(!c.contains("2001:db9::1") && !c.contains("203.0.113.1"))
        let loop = try CIDR(parsing: "::1")
        #expect(loop.description == "::1/128" && loop.contains("::1") && !loop.contains("::2"))
        let odd = try CIDR(parsing: "2001:db8:8000::/33")
        #expect(odd.contains("2001:db8:8000::1") && !odd.contains("2001:db8:7fff::1"))
    }

    /// A client on a dual-stack socket shows up as ::ffff:a.b.c.d: an IPv4 allowlist still
    /// applies, both ways.
    @Test func ipv4MappedIPv6Matches() throws {
        let v4 = try CIDR(parsing: "192.0.2.0/24")
        #expect(v4.contains("::ffff:192.0.2.7") && !v4.contains("::ffff:192.0.3.7"))
        let mapped = try CIDR(parsing: "::ffff:192.0.2.0/120")
        #expect(mapped.contains("192.0.2.9") && !mapped.contains("192.0.3.9"))
    }

    @Test(arguments: [("10.0.0.1/24", "did you mean 10.0.0.0/24?"), ("10.0.0.0/33", "from 0 to 32"), ("2001:db8::/129", "from 0 to 128"),
                      ("300.1.1.1", "not an IPv4 or IPv6"), ("10.0.0", "not an IPv4 or IPv6"), ("10.0.0.0/", "from 0 to 32"),
                      ("10.0.0.0/+8", "from 0 to 32"), ("2001:db8::1/32", "did you mean 2001:db8::/32?"), ("example.com", "not an IPv4")])
    func badBlocksAreNamed(input: String, message: String) {
        #expect(throws: CIDR.Problem.self) { try CIDR(parsing: input) }
        do { _ = try CIDR(parsing: input) } catch { #expect(error.message.contains(message), "\(error.message)") }
    }

    @Test func allowlistsSplitOnCommasAndLinesAndDropDuplicates() throws {
        #expect(try CIDR.parseList("  \n ") == nil)
        let list = try #require(try CIDR.parseList("203.0.113.0/24, 2001:db8::/32\n203.0.113.0/24\r\n127.0.0.1"))
        #expect(list.map(\.description) == ["203.0.113.0/24", "2001:db8::/32", "127.0.0.1/32"])
        #expect(throws: CIDR.Problem.self) { try CIDR.parseList("203.0.113.0/24, nope") }
        #expect(throws: CIDR.Problem.self) { try CIDR.parseList((0..<51).map { "10.0.0.\($0)" }.joined(separator: ",")) }
    }

    // MARK: - restrictions

    @Test func restrictionsStoreAndRead() {
        #expect(APIKeyRestrictions.unrestricted.stored == nil)
        #expect(APIResource.allCases.allSatisfy { APIKeyRestrictions.unrestricted.access(to: $0) == .write })
        // Write on everything is no restriction.
        #expect(APIKeyRestrictions(levels: [.balances: .write, .transactions: .write, .payouts: .write]) == .unrestricted)
        let r = APIKeyRestrictions(levels: [.balances: .read, .transactions: .write, .payouts: .none])
        #expect(r.stored == "balances=read payouts=none transactions=write")
        #expect(APIKeyRestrictions(stored: r.stored) == r)
        #expect(r.access(to: .balances) == .read && r.access(to: .payouts) == .none)
        #expect(r.summary == "Balances: read · Transactions: write · Payouts: none")
        // A resource a restricted key never named (one added later) is closed to it.
        #expect(APIKeyRestrictions(stored: "balances=read").access(to: .payouts) == .none)
        #expect(APIKeyRestrictions(stored: "balances=admin").access(to: .balances) == .none)
    }

    // MARK: - the verifier without a server

    /// A mistyped or made-up key is refused before any lookup: random guesses cost the
    /// database nothing.
    @Test func aBadChecksumIsRejectedWithoutALookup() throws {
        let lookups = Atomic<Int>(0)
        let verifier = APIKeyVerifier(lookup: { _ in lookups.add(1, ordering: .relaxed); return nil }, now: { 0 })
        let good = APIKeySecret.make(.sandbox).text
        var typo = Array(good)
        typo[20] = typo[20] == "x" ? "y" : "x"
        for token in [String(typo), "sk_sandbox_nope", "hello", String(good.dropLast())] {
            #expect(try verifier.credential(scheme: "bearer", token: token, remoteAddress: "127.0.0.1") == nil)
        }
        let basicTypo = Base64.encode(Array((String(typo) + ":").utf8))
        #expect(try verifier.credential(scheme: "basic", token: basicTypo, remoteAddress: "127.0.0.1") == nil)
        #expect(lookups.load(ordering: .relaxed) == 0)
        // A well-formed key is looked up (and, unknown, refused the same way).
        #expect(try verifier.credential(scheme: "bearer", token: good, remoteAddress: "127.0.0.1") == nil)
        #expect(lookups.load(ordering: .relaxed) == 1)
    }

    @Test func basicAuthCarriesTheKeyAsTheUserName() {
        #expect(APIKeyVerifier.secretText(scheme: "basic", token: Base64.encode(Array("sk_x:".utf8))) == "sk_x")
        #expect(APIKeyVerifier.secretText(scheme: "basic", token: Base64.encode(Array("sk_x:ignored".utf8))) == "sk_x")
        #expect(APIKeyVerifier.secretText(scheme: "basic", token: Base64.encode(Array("no-colon".utf8))) == nil)
        #expect(APIKeyVerifier.secretText(scheme: "basic", token: "!!!") == nil)
        #expect(APIKeyVerifier.secretText(scheme: "digest", token: "sk_x") == nil)
    }
}
