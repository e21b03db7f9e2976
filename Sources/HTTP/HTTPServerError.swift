import Foundation

public enum HTTPServerError: Error, CustomStringConvertible {
    case resolve(String, String)
    case bind(String, Int, String)
    case system(String, Int32)

    public var description: String {
        switch self {
        case .resolve(let h, let m): return "cannot resolve \(h): \(m)"
        case .bind(let h, let p, let m): return "cannot listen on \(h):\(p): \(m)"
        case .system(let what, let e): return "\(what) failed: \(String(cString: strerror(e)))"
        }
    }
}
