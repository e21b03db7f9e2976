import Foundation

/// Where the portal gets the time: UTC unix seconds. Tests pass their own to move time on
/// (session expiry, lockouts, link lifetimes) without sleeping.
public struct PortalClock: Sendable {
    public let now: @Sendable () -> Int64
    public init(_ now: @escaping @Sendable () -> Int64) { self.now = now }
    public static let system = PortalClock { Int64(Date().timeIntervalSince1970) }
}
