import Database

/// The SQL of apps, their credentials, subscriptions and redirect URIs, and of the
/// organization's certificate store. Every write runs in the caller's transaction.
struct AppsStore {
    // MARK: apps

    static let appColumns = "a.id, a.public_id, a.organization_id, a.environment, a.name, a.certificate_id, a.created_by_name, a.created_at"

    static func app(_ r: some RowReading) throws -> AppRecord {
        AppRecord(id: try r.int64(0), publicID: try r.string(1), organizationID: try r.int64(2),
                  environment: Environment(rawValue: try r.string(3)) ?? .production, name: try r.string(4),
                  certificateID: try r.optionalInt64(5), createdByName: try r.string(6), createdAt: try r.int64(7))
    }

    func insertApp(publicID: String, organizationID: Int64, environment: Environment, name: String, createdByName: String, at now: Int64,
                   on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO apps (public_id, organization_id, environment, name, created_by_name, created_at)
            VALUES (?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, organizationID, environment.rawValue, name, createdByName, now) ?? 0
    }

    func app(id: Int64, on db: Connection) throws -> AppRecord? {
        try db.queryOne("SELECT \(Self.appColumns) FROM apps a WHERE a.id = ?", id).map(Self.app)
    }

    func app(publicID: String, organizationID: Int64, environment: Environment, on db: Connection) throws -> AppRecord? {
        try db.queryOne("SELECT \(Self.appColumns) FROM apps a WHERE a.public_id = ? AND a.organization_id = ? AND a.environment = ?",
                        publicID, organizationID, environment.rawValue).map(Self.app)
    }

    /// The app of the environment with this name, whatever its case (names are unique so).
    func app(named name: String, organizationID: Int64, environment: Environment, on db: Connection) throws -> AppRecord? {
        try db.queryOne("SELECT \(Self.appColumns) FROM apps a WHERE a.organization_id = ? AND a.environment = ? AND a.name = ? COLLATE NOCASE",
                        organizationID, environment.rawValue, name).map(Self.app)
    }

    /// The environment's apps, by name.
    func apps(organizationID: Int64, environment: Environment, on db: Connection) throws -> [AppRecord] {
        try db.query("SELECT \(Self.appColumns) FROM apps a WHERE a.organization_id = ? AND a.environment = ? ORDER BY a.name COLLATE NOCASE, a.id",
                     organizationID, environment.rawValue).map(Self.app)
    }

    func renameApp(id: Int64, to name: String, on db: Connection) throws -> Bool {
        try db.execute("UPDATE apps SET name = ? WHERE id = ?", name, id) == 1
    }

    func selectCertificate(appID: Int64, certificateID: Int64?, on db: Connection) throws -> Bool {
        try db.execute("UPDATE apps SET certificate_id = ? WHERE id = ?", certificateID, appID) == 1
    }

    /// Deletes the app; its credentials, subscriptions and redirect URIs go with it (cascade).
    func deleteApp(id: Int64, on db: Connection) throws -> Bool {
        try db.execute("DELETE FROM apps WHERE id = ?", id) == 1
    }

    // MARK: credentials

    static let credentialColumns = """
        c.id, c.app_id, c.client_id, c.name, c.secret_sha256, c.last4, c.previous_sha256, c.previous_ends_at, c.created_by_name,
        c.created_at, c.reset_at, c.last_used_at, c.last_used_ip, c.expires_at
        """

    static func credential(_ r: some RowReading) throws -> AppCredentialRecord {
        AppCredentialRecord(id: try r.int64(0), appID: try r.int64(1), clientID: try r.string(2), name: try r.string(3),
                            secretSHA256: try r.blob(4), last4: try r.string(5), previousSHA256: try r.optionalBlob(6),
                            previousEndsAt: try r.optionalInt64(7), createdByName: try r.string(8), createdAt: try r.int64(9),
                            resetAt: try r.optionalInt64(10), lastUsedAt: try r.optionalInt64(11), lastUsedIP: try r.optionalString(12),
                            expiresAt: try r.optionalInt64(13))
    }

    func insertCredential(appID: Int64, clientID: String, name: String, secret: ClientSecret, createdByName: String, at now: Int64,
                          expiresAt: Int64?, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO app_credentials (app_id, client_id, name, secret_sha256, last4, created_by_name, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, appID, clientID, name, secret.sha256, secret.last4, createdByName, now, expiresAt) ?? 0
    }

    /// Records that the reminder `days` before the expiry went out; false if it already had.
    func markReminded(credentialID: Int64, days: Int, at now: Int64, on db: Connection) throws -> Bool {
        let column = switch days { case 30: "reminded_30_at"; case 7: "reminded_7_at"; default: "reminded_1_at" }
        return try db.execute("UPDATE app_credentials SET \(column) = ? WHERE id = ? AND \(column) IS NULL", now, credentialID) == 1
    }

    func credential(id: Int64, on db: Connection) throws -> AppCredentialRecord? {
        try db.queryOne("SELECT \(Self.credentialColumns) FROM app_credentials c WHERE c.id = ?", id).map(Self.credential)
    }

    func credential(clientID: String, appID: Int64, on db: Connection) throws -> AppCredentialRecord? {
        try db.queryOne("SELECT \(Self.credentialColumns) FROM app_credentials c WHERE c.client_id = ? AND c.app_id = ?", clientID, appID)
            .map(Self.credential)
    }

    /// What authenticating a client needs, in one statement: the client's app and credentials
    /// (by the unique index on client_id), the products the app subscribes to, and its
    /// certificate's SHA-256. Nil for an unknown client or one of a closed organization.
    struct ClientRow: Sendable {
        let app: AppRecord
        let credential: AppCredentialRecord
        let products: [String]
        let certificateSHA256: [UInt8]?
    }

    func client(clientID: String, on db: Connection) throws -> ClientRow? {
        try db.queryOne(
            """
            SELECT \(Self.appColumns), \(Self.credentialColumns),
                (SELECT group_concat(s.product, ' ') FROM app_subscriptions s WHERE s.app_id = a.id),
                (SELECT t.sha256 FROM certificates t WHERE t.id = a.certificate_id)
            FROM app_credentials c JOIN apps a ON a.id = c.app_id JOIN organizations o ON o.id = a.organization_id
            WHERE c.client_id = ? AND o.status = 'active'
            """, clientID).map { r in
                ClientRow(app: try Self.app(r), credential: try Self.credential(OffsetRow(row: r, offset: 8)),
                          products: (try r.optionalString(22) ?? "").split(separator: " ").map(String.init),
                          certificateSHA256: try r.optionalBlob(23))
            }
    }

    func credentials(appID: Int64, on db: Connection) throws -> [AppCredentialRecord] {
        try db.query("SELECT \(Self.credentialColumns) FROM app_credentials c WHERE c.app_id = ? ORDER BY c.created_at, c.id", appID)
            .map(Self.credential)
    }

    func renameCredential(id: Int64, to name: String, on db: Connection) throws -> Bool {
        try db.execute("UPDATE app_credentials SET name = ? WHERE id = ?", name, id) == 1
    }

    /// Replaces the secret, keeping the old hash working until `previousEndsAt` (nil: the old
    /// one stops at once). Guarded by the hash expected, so of two resets at once one wins.
    func resetSecret(id: Int64, expected: [UInt8], new secret: ClientSecret, previousEndsAt: Int64?, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE app_credentials SET previous_sha256 = CASE WHEN ? IS NULL THEN NULL ELSE secret_sha256 END, previous_ends_at = ?,
                secret_sha256 = ?, last4 = ?, reset_at = ?
            WHERE id = ? AND secret_sha256 = ?
            """, previousEndsAt, previousEndsAt, secret.sha256, secret.last4, now, id, expected) == 1
    }

    // MARK: credential health

    /// Records a successful client authentication, unless one was recorded at or after
    /// `staleBefore` (the guard in the statement: of two requests that both saw a stale time,
    /// the second changes nothing).
    func recordUse(credentialID: Int64, at time: Int64, ip: String, staleBefore: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE app_credentials SET last_used_at = ?, last_used_ip = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                       time, ip, credentialID, staleBefore) == 1
    }

    /// Counts one failed authentication in the credential's bucket for `hour` (unix time / 3600).
    func recordFailure(credentialID: Int64, hour: Int64, on db: Connection) throws {
        _ = try db.execute(
            """
            INSERT INTO app_credential_failures (credential_id, hour, failures) VALUES (?, ?, 1)
            ON CONFLICT (credential_id, hour) DO UPDATE SET failures = failures + 1
            """, credentialID, hour)
    }

    /// The failed authentications of each of the app's credentials in the buckets from
    /// `fromHour` on (credentials without any are absent).
    func failures(appID: Int64, fromHour: Int64, on db: Connection) throws -> [Int64: Int] {
        var out: [Int64: Int] = [:]
        for r in try db.query(
            """
            SELECT f.credential_id, sum(f.failures) FROM app_credential_failures f JOIN app_credentials c ON c.id = f.credential_id
            WHERE c.app_id = ? AND f.hour >= ? GROUP BY f.credential_id
            """, appID, fromHour) {
            out[try r.int64(0)] = Int(try r.int64(1))
        }
        return out
    }

    /// Deletes the failure buckets before `hour`.
    func pruneFailures(beforeHour hour: Int64, on db: Connection) throws -> Int {
        try db.execute("DELETE FROM app_credential_failures WHERE hour < ?", hour)
    }

    // MARK: subscriptions

    func subscriptions(appID: Int64, on db: Connection) throws -> [AppSubscriptionRecord] {
        try db.query("SELECT app_id, product, created_by_name, created_at FROM app_subscriptions WHERE app_id = ? ORDER BY created_at, product", appID)
            .map { AppSubscriptionRecord(appID: try $0.int64(0), product: try $0.string(1), createdByName: try $0.string(2), createdAt: try $0.int64(3)) }
    }

    /// Adds the subscription; false if the app already had it.
    func subscribe(appID: Int64, product: String, createdByName: String, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("INSERT INTO app_subscriptions (app_id, product, created_by_name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       appID, product, createdByName, now) == 1
    }

    func unsubscribe(appID: Int64, product: String, on db: Connection) throws -> Bool {
        try db.execute("DELETE FROM app_subscriptions WHERE app_id = ? AND product = ?", appID, product) == 1
    }

    // MARK: redirect URIs

    static func redirectURI(_ r: some RowReading) throws -> AppRedirectURIRecord {
        AppRedirectURIRecord(id: try r.int64(0), publicID: try r.string(1), appID: try r.int64(2), uri: try r.string(3), createdAt: try r.int64(4))
    }

    func redirectURIs(appID: Int64, on db: Connection) throws -> [AppRedirectURIRecord] {
        try db.query("SELECT id, public_id, app_id, uri, created_at FROM app_redirect_uris WHERE app_id = ? ORDER BY created_at, id", appID)
            .map(Self.redirectURI)
    }

    func insertRedirectURI(publicID: String, appID: Int64, uri: String, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("INSERT INTO app_redirect_uris (public_id, app_id, uri, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       publicID, appID, uri, now) == 1
    }

    func changeRedirectURI(id: Int64, to uri: String, on db: Connection) throws -> Bool {
        try db.execute("UPDATE OR IGNORE app_redirect_uris SET uri = ? WHERE id = ?", uri, id) == 1
    }

    func deleteRedirectURI(id: Int64, on db: Connection) throws -> Bool {
        try db.execute("DELETE FROM app_redirect_uris WHERE id = ?", id) == 1
    }

    // MARK: certificates

    static let certificateColumns = """
        id, public_id, organization_id, sha256, subject, issuer, serial, key_type, not_before, not_after, alt_names, created_by_name, created_at
        """

    static func certificate(_ r: some RowReading) throws -> CertificateRecord {
        CertificateRecord(id: try r.int64(0), publicID: try r.string(1), organizationID: try r.int64(2), sha256: try r.blob(3),
                          subject: try r.string(4), issuer: try r.string(5), serial: try r.string(6), keyType: try r.string(7),
                          notBefore: try r.int64(8), notAfter: try r.int64(9), altNames: try r.string(10), createdByName: try r.string(11),
                          createdAt: try r.int64(12))
    }

    struct NewCertificate {
        let publicID: String
        let organizationID: Int64
        let sha256: [UInt8]
        let der: [UInt8]
        let subject: String
        let issuer: String
        let serial: String
        let keyType: String
        let notBefore: Int64
        let notAfter: Int64
        let altNames: String
        let createdByName: String
        let createdAt: Int64
    }

    func insertCertificate(_ c: NewCertificate, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO certificates (public_id, organization_id, sha256, der, subject, issuer, serial, key_type, not_before, not_after,
                alt_names, created_by_name, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            arguments: [c.publicID, c.organizationID, c.sha256, c.der, c.subject, c.issuer, c.serial, c.keyType, c.notBefore, c.notAfter,
                        c.altNames, c.createdByName, c.createdAt]) ?? 0
    }

    func certificate(id: Int64, on db: Connection) throws -> CertificateRecord? {
        try db.queryOne("SELECT \(Self.certificateColumns) FROM certificates WHERE id = ?", id).map(Self.certificate)
    }

    func certificate(publicID: String, organizationID: Int64, on db: Connection) throws -> CertificateRecord? {
        try db.queryOne("SELECT \(Self.certificateColumns) FROM certificates WHERE public_id = ? AND organization_id = ?", publicID, organizationID)
            .map(Self.certificate)
    }

    func certificate(sha256: [UInt8], organizationID: Int64, on db: Connection) throws -> CertificateRecord? {
        try db.queryOne("SELECT \(Self.certificateColumns) FROM certificates WHERE sha256 = ? AND organization_id = ?", sha256, organizationID)
            .map(Self.certificate)
    }

    /// Records that the expiry reminder went out; false if it already had.
    func markCertificateReminded(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE certificates SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL", now, id) == 1
    }

    /// The names of the apps (any environment) that use the certificate.
    func appNames(certificateID: Int64, on db: Connection) throws -> [String] {
        try db.query("SELECT name || ' (' || environment || ')' FROM apps WHERE certificate_id = ? ORDER BY name", certificateID).map { try $0.string(0) }
    }

    func certificates(organizationID: Int64, on db: Connection) throws -> [CertificateRecord] {
        try db.query("SELECT \(Self.certificateColumns) FROM certificates WHERE organization_id = ? ORDER BY created_at DESC, id DESC", organizationID)
            .map(Self.certificate)
    }
}

/// The columns of `row` from `offset` on, read as a row of their own (one statement that
/// selects two records side by side).
private struct OffsetRow<R: RowReading>: RowReading {
    let row: R
    let offset: Int
    var columnNames: [String] { Array(row.columnNames.dropFirst(offset)) }
    var sql: String { row.sql }
    func value(at index: Int) -> SQLValue { row.value(at: index + offset) }
}
