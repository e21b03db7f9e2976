import HTTP
import Testing
@testable import Web

/// The router looks only at the routes that could match a path's first segment. Checked
/// against the plain scan over every route it replaced, on random route tables and paths.
@Suite struct RouterIndexTests {
    enum Found: Equatable {
        case route(String, [String])
        case methodNotAllowed([String])
        case notFound
    }

    static func describe(_ m: Router.Match) -> Found {
        switch m {
        case .found(let r, let p):
            let pattern: String = r.pattern.map { (s: Router.Segment) -> String in "\(s)" }.joined(separator: "/")
            var values: [String] = p.values.map { (v: (name: String, value: String)) -> String in v.name + "=" + v.value }
            values.append("*=" + p.wildcard.joined(separator: "/"))
            return .route(r.method.rawValue + " " + pattern, values)
        case .methodNotAllowed(let a): return .methodNotAllowed(a.map(\.rawValue))
        case .notFound: return .notFound
        }
    }

    /// The old matcher: every route in order.
    static func scan(_ router: Router, method: HTTPMethod, segments: [String]) -> Found {
        var allowed: [HTTPMethod] = []
        var head: (Router.Route, Parameters)?
        for route in router.routes {
            guard let params = route.match(segments) else { continue }
            if route.method == method { return describe(.found(route, params)) }
            if method == .HEAD, route.method == .GET, head == nil { head = (route, params) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if let (r, p) = head { return describe(.found(r, p)) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.GET), !allowed.contains(.HEAD) { allowed.insert(.HEAD, at: allowed.firstIndex(of: .GET)! + 1) }
        return describe(.methodNotAllowed(allowed))
    }

    @Test func theIndexAnswersAsTheFullScanDid() {
        var g = SystemRandomNumberGenerator()
        let words = ["v1", "orgs", "a", "b", "x"]
        let methods: [HTTPMethod] = [.GET, .POST, .DELETE, .HEAD]
        var compared = 0, found = 0
        for _ in 0..<200 {
            var router = Router()
            var seen = Set<String>()
            for _ in 0..<Int.random(in: 1...25, using: &g) {
                let n = Int.random(in: 0...4, using: &g)
                var parts: [String] = (0..<n).map { _ in
                    Int.random(in: 0..<4, using: &g) == 0 ? ":p\(Int.random(in: 0..<9, using: &g))" : words.randomElement(using: &g)!
                }
                if Int.random(in: 0..<5, using: &g) == 0 { parts.append("*") }
                let path = "/" + parts.joined(separator: "/")
                let method = methods.randomElement(using: &g)!
                guard seen.insert("\(method.rawValue) \(path)").inserted else { continue }
                router.on(method, path) { _ in HTTPResponse(status: .ok) }
            }
            for _ in 0..<50 {
                let segments: [String] = (0..<Int.random(in: 0...5, using: &g)).map { _ in
                    Int.random(in: 0..<6, using: &g) == 0 ? ["", "zz"].randomElement(using: &g)! : words.randomElement(using: &g)!
                }
                let method = methods.randomElement(using: &g)!
                let fast = Self.describe(router.match(method: method, segments: segments))
                #expect(fast == Self.scan(router, method: method, segments: segments), "\(method.rawValue) /\(segments.joined(separator: "/"))")
                compared += 1
                if case .route = fast { found += 1 }
            }
        }
        #expect(found > compared / 10) // the tables and paths did meet
    }
}
