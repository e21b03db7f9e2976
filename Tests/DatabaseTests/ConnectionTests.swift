import Testing
@testable import Database

@Suite struct ConnectionTests {
    // MARK: Binding and reading

    /// Every storage class survives a bind → store → read round trip unchanged, and is stored
    /// as that storage class (an empty string or blob must not turn into NULL).
    @Test(arguments: [
        SQLValue.null,
        .integer(0), .integer(-1), .integer(Int64.max), .integer(Int64.min),
        .real(3.141592653589793), .real(-0.5), .real(1e300),
        .text(""), .text("plain"), .text("héllo wörld ✓ 日本語 🎉👩‍💻"), .text("nul\u{0}inside"),
        .blob([]), .blob([0]), .blob([0, 0, 0]), .blob([0, 255, 1, 0, 128]),
    ])
    func valueRoundTrip(value: SQLValue) throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v)") // no declared type: no affinity conversion
            try conn.execute("INSERT INTO t(v) VALUES (?)", value)
            let row = try #require(try conn.queryOne("SELECT v, typeof(v) AS type FROM t"))
            #expect(try row.value(0) == value)
            #expect(try row.string("type") == value.typeName.lowercased())
        }
    }

    @Test func swiftTypesBindAndReadBack() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(i INTEGER, i64 INTEGER, i32 INTEGER, d REAL, s TEXT, b BLOB, yes INTEGER, no INTEGER, missing TEXT)")
            let none: String? = nil
            try conn.execute(
                "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                42, Int64.min, Int32.max, 2.5, "żółw 🐢", [UInt8]([0, 1, 0, 2]), true, false, none)
            let row = try #require(try conn.queryOne("SELECT * FROM t"))
            #expect(try row.int("i") == 42)
            #expect(try row.int64("i64") == Int64.min)
            #expect(try row.decode("i32", as: Int32.self) == Int32.max)
            #expect(try row.double("d") == 2.5)
            #expect(try row.string("s") == "żółw 🐢")
            #expect(try row.blob("b") == [0, 1, 0, 2])
            #expect(try row.bool("yes") == true)
            #expect(try row.bool("no") == false)
            #expect(try row.optionalString("missing") == nil)
            #expect(try row.isNull("missing"))
            #expect(try row.optionalInt("i") == 42)
            // The same columns by index, and names case-insensitively.
            #expect(try row.int(0) == 42)
            #expect(try row.string(4) == "żółw 🐢")
            #expect(try row.int("I") == 42)
            #expect(row.columnNames == ["i", "i64", "i32", "d", "s", "b", "yes", "no", "missing"])
        }
    }

    /// Bytes bound as TEXT are stored as the string they spell, empty included, and SQLite's
    /// own functions read them as text (JSON here).
    @Test(arguments: ["", "plain", "héllo 日本語 🎉", "[1,{\"a\":\"b\"}]"])
    func utf8BytesBindAsText(text: String) throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v)")
            try conn.execute("INSERT INTO t(v) VALUES (?)", UTF8Text(unchecked: Array(text.utf8)))
            let row = try #require(try conn.queryOne("SELECT v, typeof(v), length(v), json_valid(v) FROM t"))
            #expect(try row.string(0) == text)
            #expect(try row.string(1) == "text")
            #expect(try row.int(2) == text.count)
            #expect(try row.int(3) == (text.hasPrefix("[") ? 1 : 0))
        }
    }

    @Test func optionalArgumentsBindValueOrNull() throws {
        try withConnection { conn in
            let some: Int? = 7
            let none: Int? = nil
            let row = try #require(try conn.queryOne("SELECT ? AS a, ? AS b", some, none))
            #expect(try row.optionalInt("a") == 7)
            #expect(try row.optionalInt("b") == nil)
        }
    }

    @Test func argumentArraysAndLiterals() throws {
        try withConnection { conn in
            let arguments: [SQLValue] = [1, 2.5, "x", nil, true]
            let row = try #require(try conn.queryOne("SELECT ?, ?, ?, ?, ?", arguments: arguments))
            #expect(row.values == [.integer(1), .real(2.5), .text("x"), .null, .integer(1)])
            let ids = [3, 1, 2]
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let rows = try conn.query("SELECT value FROM json_each('[1,2,3,4]') WHERE value IN (\(placeholders)) ORDER BY value", arguments: ids)
            #expect(try rows.map { try $0.int(0) } == [1, 2, 3])
        }
    }

    @Test func integerColumnsReadAsDouble() throws {
        try withConnection { conn throws in
            #expect(try conn.scalar("SELECT 3", as: Double.self) == 3.0)
        }
    }

    /// Reads never crash: a wrong type, a NULL or an unknown column is a thrown DatabaseError.
    @Test func mismatchedReadsThrowClearErrors() throws {
        try withConnection { conn in
            let row = try #require(try conn.queryOne("SELECT 'text' AS s, NULL AS z, 2 AS two, 1.5 AS r, 9999999999 AS big"))

            let mismatch = try #require(thrownError { _ = try row.int("s") } as? DatabaseError)
            #expect(mismatch.code == 20) // SQLITE_MISMATCH
            #expect(mismatch.message.contains("'s'") && mismatch.message.contains("TEXT"))
            #expect(mismatch.sql?.contains("SELECT 'text'") == true)

            let null = try #require(thrownError { _ = try row.string("z") } as? DatabaseError)
            #expect(null.code == 20 && null.message.contains("NULL"))

            #expect(throws: DatabaseError.self) { _ = try row.optionalInt("s") } // optional, but still the wrong type
            #expect(throws: DatabaseError.self) { _ = try row.bool("two") } // booleans are 0 or 1
            #expect(throws: DatabaseError.self) { _ = try row.int("r") } // no silent truncation
            #expect(throws: DatabaseError.self) { _ = try row.blob("s") }
            #expect(throws: DatabaseError.self) { _ = try row.decode("big", as: Int32.self) }

            // The same refusals through the index-addressed reads (their own fast path).
            let byIndex = try #require(thrownError { _ = try row.int(0) } as? DatabaseError)
            #expect(byIndex.code == 20 && byIndex.message == mismatch.message)
            #expect(throws: DatabaseError.self) { _ = try row.string(1) }
            #expect(throws: DatabaseError.self) { _ = try row.int64(0) }
            #expect(throws: DatabaseError.self) { _ = try row.optionalInt64(0) }
            #expect(throws: DatabaseError.self) { _ = try row.optionalString(2) }
            #expect(throws: DatabaseError.self) { _ = try row.bool(2) }
            #expect(throws: DatabaseError.self) { _ = try row.int64(9) }
            #expect(try row.optionalString(1) == nil && row.optionalInt64(1) == nil && row.optionalString(0) == "text" && row.optionalInt64(2) == 2)

            let unknown = try #require(thrownError { _ = try row.int("nope") } as? DatabaseError)
            #expect(unknown.code == 25 && unknown.message.contains("'nope'")) // SQLITE_RANGE
            #expect(throws: DatabaseError.self) { _ = try row.int(99) }
            #expect(throws: DatabaseError.self) { _ = try row.int(-1) }
        }
    }

    @Test func scalarReturnsNilForNoRowAndNull() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v)")
            #expect(try conn.scalar("SELECT v FROM t", as: Int.self) == nil)
            #expect(try conn.scalar("SELECT NULL", as: Int.self) == nil)
            #expect(try conn.scalar("SELECT ? * 2", 21, as: Int.self) == 42)
            let name: String? = try conn.scalar("SELECT 'ada'")
            #expect(name == "ada")
            #expect(throws: DatabaseError.self) { _ = try conn.scalar("SELECT 'x'", as: Int.self) }
        }
    }

    @Test func rowsOutliveTheirStatement() throws {
        try withConnection { conn in
            try conn.executeScript("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('a'), ('b'), ('c');")
            let rows = try conn.query("SELECT v FROM t ORDER BY v")
            try conn.execute("DELETE FROM t")
            _ = try conn.query("SELECT v FROM t ORDER BY v") // reuses the statement the rows came from
            #expect(try rows.map { try $0.string("v") } == ["a", "b", "c"])
        }
    }

    // MARK: forEach

    @Test func forEachVisitsEveryRow() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(n INTEGER)")
            try conn.transaction {
                for n in 1...100 { try conn.execute("INSERT INTO t VALUES (?)", n) }
            }
            var sum = 0
            var count = 0
            try conn.forEach("SELECT n FROM t WHERE n > ?", 50) { row in
                sum += try row.int(0)
                count += 1
            }
            #expect(count == 50)
            #expect(sum == (51...100).reduce(0, +))
        }
    }

    @Test func forEachErrorPropagatesAndStatementIsReusable() throws {
        struct Stop: Error {}
        try withConnection { conn in
            try conn.executeScript("CREATE TABLE t(n); INSERT INTO t VALUES (1), (2), (3);")
            let sql = "SELECT n FROM t ORDER BY n"
            var seen: [Int] = []
            #expect(throws: Stop.self) {
                try conn.forEach(sql) { row in
                    seen.append(try row.int(0))
                    if seen.count == 2 { throw Stop() }
                }
            }
            #expect(seen == [1, 2])
            // The statement was reset: the next run starts from the first row again.
            #expect(try conn.query(sql).map { try $0.int(0) } == [1, 2, 3])
            #expect(!conn.isInTransaction)
        }
    }

    /// Running the same SQL again from inside a forEach body must not disturb the outer loop.
    @Test func sameSQLReenteredInsideForEach() throws {
        try withConnection { conn in
            try conn.executeScript("CREATE TABLE t(n); INSERT INTO t VALUES (1), (2), (3);")
            let sql = "SELECT n FROM t ORDER BY n"
            var outer: [Int] = []
            try conn.forEach(sql) { row in
                outer.append(try row.int(0))
                #expect(try conn.query(sql).count == 3)
            }
            #expect(outer == [1, 2, 3])
            #expect(conn.cachedStatementCount == 1)
        }
    }

    /// The in-place reads of a RowView (`int64`, `optionalInt64`, `withUTF8`) agree with the
    /// copying ones: the same values, NULL as nil or false, and the same refusals.
    @Test func inPlaceReadsMatchTheCheckedOnes() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(i INTEGER, t TEXT, n, r REAL, b BLOB)")
            try conn.execute("INSERT INTO t VALUES (?, ?, NULL, 1.5, x'00ff')", Int64.min, "Zoë \"q\" \\ \u{1} 🙂")
            try conn.execute("INSERT INTO t VALUES (42, '', NULL, 0.0, x'')")
            var rows = 0
            try conn.forEach("SELECT i, t, n, r, b FROM t ORDER BY rowid") { row in
                rows += 1
                #expect(try row.int64(0) == (try row.decode(0, as: Int64.self)))
                #expect(try row.optionalInt64(0) == (try row.decode(0, as: Int64?.self)))
                #expect(try row.optionalInt64(2) == nil)
                var text: [UInt8]? = nil
                let found = try row.withUTF8(1) { text = Array($0) }
                #expect(found)
                #expect(text == Array(try row.decode(1, as: String.self).utf8))
                let null = try row.withUTF8(2) { _ in Issue.record("NULL has no bytes") }
                #expect(!null)
                // withBytes: a BLOB's bytes, or a TEXT's as withUTF8 gives them; NULL none.
                var blob: [UInt8]? = nil
                #expect(try row.withBytes(4) { blob = Array($0) })
                #expect(blob == (try row.decode(4, as: [UInt8].self)))
                var bytes: [UInt8]? = nil
                #expect(try row.withBytes(1) { bytes = Array($0) })
                #expect(bytes == text)
                #expect(try !row.withBytes(2) { _ in Issue.record("NULL has no bytes") })
                #expect(throws: DatabaseError.self) { try row.withBytes(0) { _ in } }
                #expect(throws: DatabaseError.self) { try row.withBytes(3) { _ in } }
                #expect(throws: DatabaseError.self) { try row.withBytes(5) { _ in } }
                // A mismatch or a column out of range throws, as the checked reads do.
                #expect(throws: DatabaseError.self) { try row.int64(1) }
                #expect(throws: DatabaseError.self) { try row.int64(2) }
                #expect(throws: DatabaseError.self) { try row.optionalInt64(3) }
                #expect(throws: DatabaseError.self) { try row.withUTF8(0) { _ in } }
                #expect(throws: DatabaseError.self) { try row.withUTF8(3) { _ in } }
                #expect(throws: DatabaseError.self) { try row.withUTF8(4) { _ in } }
                #expect(throws: DatabaseError.self) { try row.withUTF8(5) { _ in } }
                #expect(throws: DatabaseError.self) { try row.optionalInt64(5) }
                #expect(throws: DatabaseError.self) { try row.int64(-1) }
            }
            #expect(rows == 2)
        }
    }

    /// A RowView kept past its row is a programming error: it traps instead of returning
    /// whatever the statement points at by then.
    @Test func escapedRowViewTraps() async {
        await #expect(processExitsWith: .failure) {
            // Nothing here throws out of the body: only the trap can make the process fail.
            _ = try? withConnection { conn in
                var escaped: RowView?
                try conn.forEach("SELECT 1 AS n") { row in escaped = row }
                _ = escaped?.value(at: 0)
            }
        }
    }

    // MARK: Statement cache

    @Test func statementsAreCachedAndReused() throws {
        try withConnection { conn in
            let sql = "SELECT ? + 1"
            let baseline = conn.cachedStatementCount
            #expect(try conn.scalar(sql, 1, as: Int.self) == 2)
            let first = try #require(conn.cachedStatement(sql))
            #expect(try conn.scalar(sql, 41, as: Int.self) == 42)
            let second = try #require(conn.cachedStatement(sql))
            #expect(first.handle == second.handle) // the same sqlite3_stmt, not re-prepared
            #expect(conn.cachedStatementCount == baseline + 1)
            _ = try conn.scalar("SELECT ? + 2", 1, as: Int.self)
            #expect(conn.cachedStatementCount == baseline + 2)
        }
    }

    /// The cache hashes a sample of the SQL (its length, its last 32 bytes, 8 from the middle):
    /// texts that share the sample, built at run time rather than literals, are still told
    /// apart by their whole text, each its own statement with its own answer.
    @Test func textsSharingTheHashedSampleStayApart() throws {
        try withConnection { conn in
            let tail = " AS n FROM (SELECT 1) WHERE 1 = 1 ORDER BY n LIMIT 1"
            let pad = String(repeating: " ", count: 40)
            // Same length, same middle and tail; only the selected number differs, near the start.
            let texts = (1...9).map { "SELECT \($0)\(pad)\(tail)" }
            #expect(Set(texts.map(\.utf8.count)).count == 1)
            for _ in 0..<3 {
                for (i, sql) in texts.enumerated() {
                    #expect(try conn.scalar(String(sql), as: Int.self) == i + 1)
                }
            }
            let handles = Set(try texts.map { try #require(conn.cachedStatement($0)).handle })
            #expect(handles.count == texts.count)
        }
    }

    /// After use a cached statement keeps no bound value (they may be secrets).
    @Test func bindingsAreClearedAfterUse() throws {
        try withConnection { conn in
            let sql = "SELECT ? AS token"
            #expect(try conn.queryOne(sql, "hunter2")?.string("token") == "hunter2")
            let expanded = try #require(conn.cachedStatement(sql)?.expandedSQL)
            #expect(!expanded.contains("hunter2"))
            #expect(expanded == "SELECT NULL AS token")
        }
    }

    @Test func leastRecentlyUsedStatementIsEvicted() throws {
        try withTemporaryDirectory { directory in
            let conn = try Connection(path: directory + "/t.sqlite", statementCacheCapacity: 2)
            defer { conn.close() }
            _ = try conn.scalar("SELECT 1", as: Int.self)
            _ = try conn.scalar("SELECT 2", as: Int.self)
            _ = try conn.scalar("SELECT 1", as: Int.self) // 2 is now the least recently used
            _ = try conn.scalar("SELECT 3", as: Int.self)
            #expect(conn.cachedStatementCount == 2)
            #expect(conn.cachedStatement("SELECT 1") != nil)
            #expect(conn.cachedStatement("SELECT 2") == nil)
            #expect(conn.cachedStatement("SELECT 3") != nil)
        }
    }

    @Test func schemaChangeRefreshesColumnNames() throws {
        try withConnection { conn in
            try conn.executeScript("CREATE TABLE t(a); INSERT INTO t VALUES (1);")
            #expect(try conn.queryOne("SELECT * FROM t")?.columnNames == ["a"])
            try conn.execute("ALTER TABLE t ADD COLUMN b DEFAULT 2")
            let row = try #require(try conn.queryOne("SELECT * FROM t"))
            #expect(row.columnNames == ["a", "b"])
            #expect(try row.int("b") == 2)
        }
    }

    // MARK: execute

    @Test func executeReturnsChangedRowsAndLastInsertRowID() throws {
        try withConnection { conn throws in
            #expect(try conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)") == 0)
            #expect(try conn.execute("INSERT INTO t(v) VALUES (?)", "a") == 1)
            #expect(conn.lastInsertRowID == 1)
            #expect(try conn.execute("INSERT INTO t(v) VALUES (?), (?)", "b", "c") == 2)
            #expect(conn.lastInsertRowID == 3)
            #expect(try conn.execute("UPDATE t SET v = 'x' WHERE id >= ?", 2) == 2)
            #expect(try conn.execute("SELECT * FROM t") == 0)
            #expect(try conn.execute("CREATE INDEX t_v ON t(v)") == 0)
            #expect(try conn.execute("DELETE FROM t") == 3)
        }
    }

    @Test func wrongArgumentCountIsRefused() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(a, b)")
            let tooFew = try #require(thrownError { try conn.execute("INSERT INTO t VALUES (?, ?)", 1) } as? DatabaseError)
            #expect(tooFew.code == 25 && tooFew.message.contains("2 parameter"))
            #expect(throws: DatabaseError.self) { try conn.execute("INSERT INTO t VALUES (?, ?)", 1, 2, 3) }
            #expect(try conn.scalar("SELECT count(*) FROM t", as: Int.self) == 0)
        }
    }

    @Test func singleStatementMethodsRefuseScripts() throws {
        try withConnection { conn in
            let error = try #require(thrownError {
                try conn.execute("CREATE TABLE a(x); CREATE TABLE b(x)")
            } as? DatabaseError)
            #expect(error.message.contains("executeScript"))
            #expect(try conn.scalar("SELECT count(*) FROM sqlite_master", as: Int.self) == 0)
            // A trailing semicolon or comment is not a second statement.
            #expect(try conn.scalar("SELECT 1; -- done", as: Int.self) == 1)
            #expect(throws: DatabaseError.self) { try conn.execute("   ") }
            try conn.executeScript("""
                -- a script
                CREATE TABLE a(x); /* two */ CREATE TABLE b(x);
                INSERT INTO a VALUES (1);
                """)
            #expect(try conn.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'", as: Int.self) == 2)
        }
    }

    @Test func syntaxErrorCarriesSQL() throws {
        try withConnection { conn in
            let error = try #require(thrownError { _ = try conn.query("SELEC 1") } as? DatabaseError)
            #expect(error.code == 1) // SQLITE_ERROR
            #expect(error.sql == "SELEC 1")
            #expect(error.message.contains("syntax error"))
            #expect(error.description.contains("SELEC 1"))
        }
    }

    // MARK: Constraint errors

    @Test func uniqueViolationIsRecognisedWithoutLeakingValues() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")
            try conn.execute("INSERT INTO users(email) VALUES (?)", "secret-address@example.com")
            let error = try #require(thrownError {
                try conn.execute("INSERT INTO users(email) VALUES (?)", "secret-address@example.com")
            } as? DatabaseError)
            #expect(error.isConstraintViolation)
            #expect(error.isUniqueViolation)
            #expect(!error.isForeignKeyViolation && !error.isNotNullViolation)
            #expect(error.code == 19 && error.extendedCode == 2067) // SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE
            #expect(error.message == "UNIQUE constraint failed: users.email")
            #expect(error.sql == "INSERT INTO users(email) VALUES (?)")
            #expect(error.description.contains("UNIQUE constraint failed"))
            #expect(!error.description.contains("secret-address"))

            let primaryKey = try #require(thrownError { try conn.execute("INSERT INTO users(id, email) VALUES (1, 'other')") } as? DatabaseError)
            #expect(primaryKey.isUniqueViolation)

            let notNull = try #require(thrownError { try conn.execute("INSERT INTO users(email) VALUES (NULL)") } as? DatabaseError)
            #expect(notNull.isConstraintViolation && notNull.isNotNullViolation && !notNull.isUniqueViolation)
        }
    }

    @Test func foreignKeysAreEnforced() throws {
        try withConnection { conn in
            try conn.executeScript("""
                CREATE TABLE parent(id INTEGER PRIMARY KEY);
                CREATE TABLE child(parent_id INTEGER NOT NULL REFERENCES parent(id));
                """)
            let error = try #require(thrownError { try conn.execute("INSERT INTO child VALUES (?)", 99) } as? DatabaseError)
            #expect(error.isForeignKeyViolation && error.isConstraintViolation && !error.isUniqueViolation)
        }
    }

    // MARK: Transactions

    @Test func transactionCommitsOnReturn() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v)")
            let result = try conn.transaction {
                try conn.execute("INSERT INTO t VALUES (1)")
                #expect(conn.isInTransaction)
                return "done"
            }
            #expect(result == "done")
            #expect(!conn.isInTransaction)
            #expect(try conn.scalar("SELECT count(*) FROM t", as: Int.self) == 1)
        }
    }

    @Test func transactionRollbackLeavesNothing() throws {
        struct Boom: Error {}
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v)")
            #expect(throws: Boom.self) {
                try conn.transaction {
                    try conn.execute("INSERT INTO t VALUES (1)")
                    try conn.execute("CREATE TABLE u(v)")
                    throw Boom()
                }
            }
            #expect(!conn.isInTransaction)
            #expect(try conn.scalar("SELECT count(*) FROM t", as: Int.self) == 0)
            #expect(try conn.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'u'", as: Int.self) == 0)
        }
    }

    @Test func failingStatementRollsBackWholeTransaction() throws {
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v UNIQUE)")
            #expect(throws: DatabaseError.self) {
                try conn.transaction {
                    try conn.execute("INSERT INTO t VALUES (1)")
                    try conn.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(try conn.scalar("SELECT count(*) FROM t", as: Int.self) == 0)
        }
    }

    /// A nested transaction is a SAVEPOINT: its failure undoes only its own changes.
    @Test func nestedTransactionIsASavepoint() throws {
        struct Boom: Error {}
        try withConnection { conn in
            try conn.execute("CREATE TABLE t(v)")
            try conn.transaction {
                try conn.execute("INSERT INTO t VALUES ('outer')")
                #expect(throws: Boom.self) {
                    try conn.transaction {
                        try conn.execute("INSERT INTO t VALUES ('inner, undone')")
                        throw Boom()
                    }
                }
                try conn.transaction {
                    try conn.execute("INSERT INTO t VALUES ('inner, kept')")
                }
                #expect(conn.isInTransaction)
            }
            #expect(try conn.query("SELECT v FROM t ORDER BY rowid").map { try $0.string(0) } == ["outer", "inner, kept"])
        }
    }

    // MARK: Configuration and lifetime

    @Test func connectionIsConfigured() throws {
        try withConnection { conn throws in
            #expect(try conn.scalar("PRAGMA journal_mode", as: String.self) == "wal")
            #expect(try conn.scalar("PRAGMA foreign_keys", as: Int.self) == 1)
            #expect(try conn.scalar("PRAGMA synchronous", as: Int.self) == 2) // FULL
            #expect(try conn.scalar("PRAGMA busy_timeout", as: Int.self) == 5000)
        }
    }

    @Test func useAfterCloseThrows() throws {
        try withConnection { conn in
            conn.close()
            let error = try #require(thrownError { _ = try conn.query("SELECT 1") } as? DatabaseError)
            #expect(error.message.contains("closed"))
            conn.close() // idempotent
        }
    }

    @Test func openFailureIsReported() throws {
        let error = try #require(thrownError {
            _ = try Connection(path: "/nonexistent-dir-\(UInt64.random(in: 0...UInt64.max))/x.sqlite", readOnly: true)
        } as? DatabaseError)
        #expect(error.code == 14) // SQLITE_CANTOPEN
        #expect(error.message.contains("cannot open database"))
    }
}
