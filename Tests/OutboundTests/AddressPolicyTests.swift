import Testing
@testable import Outbound

/// The address table from issue 11: what `publicOnly` refuses, by literal and by name.
@Suite struct AddressPolicyTests {
    static let refused: [(String, String)] = [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("0x7f.1", "127.0.0.1 is a loopback address"),
        ("2130706433", "127.0.0.1 is a loopback address"),
        ("0177.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is the loopback address"),
        ("[::ffff:10.0.0.1]", "::ffff:10.0.0.1 is the IPv4-mapped form of 10.0.0.1, a private network address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address (where cloud metadata services answer)"),
        ("100.64.0.1", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("fd00::1", "fd00::1 is a unique local (private network) address"),
        ("64:ff9b::7f00:1", "64:ff9b::7f00:1 is the NAT64 form of 127.0.0.1, a loopback address"),
        ("0.0.0.0", "0.0.0.0 is a \"this network\" address"),
        ("::", ":: is the unspecified address"),
    ]

    @Test(arguments: refused)
    func refusedByPublicOnly(host: String, sentence: String) throws {
        let address = try #require(IPAddress.parse(host), "\(host) should parse")
        #expect(AddressPolicy.publicOnly.refusal(for: address) == sentence)
        #expect(AddressPolicy.allowPrivate.refusal(for: address) == nil)
    }

    @Test(arguments: ["93.184.216.34", "2606:4700::1111", "[2606:4700::1111]", "8.8.8.8"])
    func publicAddressesPass(host: String) throws {
        let address = try #require(IPAddress.parse(host))
        #expect(AddressPolicy.publicOnly.refusal(for: address) == nil)
    }
}
