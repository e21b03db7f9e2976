import COpenSSL

/// Reads OpenSSL's thread-local error queue into a message for logs and error values.
///
/// OpenSSL reports details on a per-thread queue; draining it after each failure keeps one
/// failure's details from being blamed on the next call made on the same thread.
enum OpenSSLError {
    /// The queued errors as one line (oldest first), and the queue emptied.
    static func lastMessage() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let end = buffer.firstIndex(of: 0) ?? buffer.count
            parts.append(String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "no OpenSSL error queued" : parts.joined(separator: "; ")
    }

    static func clear() { ERR_clear_error() }
}
