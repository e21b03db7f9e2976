import Foundation
import Web

/// Who did something and from where: taken from the request once, passed to services.
struct Actor: Sendable {
    let userID: Int64?
    let ip: String
    let userAgent: String

    init(userID: Int64?, ip: String, userAgent: String) {
        self.userID = userID
        self.ip = ip
        self.userAgent = String(userAgent.prefix(300))
    }

    init(_ req: Request, userID: Int64?) {
        self.init(userID: userID, ip: req.remoteAddress, userAgent: req.headers["User-Agent"] ?? "")
    }

    func with(userID: Int64?) -> Actor { Actor(userID: userID, ip: ip, userAgent: userAgent) }

    /// The address as throttles count it: an IPv4 address whole, an IPv6 address by its
    /// /64, since one subscriber usually holds a whole /64 and could otherwise rotate.
    var network: String {
        guard ip.contains(":") else { return ip }
        var addr = in6_addr()
        guard inet_pton(AF_INET6, ip, &addr) == 1 else { return ip }
        let bytes = withUnsafeBytes(of: &addr) { Array($0.prefix(8)) }
        // IPv4-mapped addresses (::ffff:a.b.c.d) count as the IPv4 address.
        let full = withUnsafeBytes(of: &addr) { Array($0) }
        if full[0..<10].allSatisfy({ $0 == 0 }) && full[10] == 0xFF && full[11] == 0xFF {
            return "\(full[12]).\(full[13]).\(full[14]).\(full[15])"
        }
        return bytes.map { String($0, radix: 16) }.joined(separator: ".") + "::/64"
    }
}
