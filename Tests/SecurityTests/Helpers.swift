import Foundation
@testable import Security

/// Runs `body` on `count` fresh OS threads (not a pool sized to the core count) and waits.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

func hex(_ string: String) -> [UInt8] {
    Hex.decode(string.filter { !$0.isWhitespace })!
}

/// A fresh empty directory under the system temporary directory.
func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("security-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func fileMode(_ path: String) -> UInt32 {
    var info = stat()
    precondition(stat(path, &info) == 0, "stat \(path)")
    return UInt32(info.st_mode) & 0o777
}
