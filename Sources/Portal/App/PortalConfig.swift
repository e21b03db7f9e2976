import Foundation
import HTTP
import Logging
import Outbound

/// Everything `portal serve` can be told, with the defaults the README documents.
public struct PortalConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var databasePath = "var/portal.sqlite"
    public var publicDirectory = "Public"
    public var templatesDirectory = "Templates"
    public var migrationsDirectory = "Migrations"
    public var logLevel = Logger.Level.info
    /// Connections, timeouts and workers of the HTTP server.
    public var server = HTTPServer.Configuration()
    /// WAL reader connections beside the one writer.
    public var databaseReaders = 4
    /// Seconds the jobs running at shutdown get to finish before the database closes. A job
    /// still running then is abandoned (not recorded) and runs again after its lease.
    public var jobStopTimeout: Double = 30

    /// The address people use, for links in e-mails and the Origin check.
    public var baseURL = "http://127.0.0.1:8080"
    /// `Secure` cookies with the `__Host-` prefix; nil means "when the base URL is https".
    public var secureCookies: Bool?
    /// The server key (hex or base64 of 32 bytes) from `PORTAL_SECRET_KEY`; else the file.
    public var secretKey: String?
    /// Where the server key lives when not given; created 0600 on first start.
    /// Nil means `secret.key` beside the database.
    public var secretKeyFile: String?
    public var sessionIdleTimeout: Int64 = 30 * 60
    public var sessionAbsoluteTimeout: Int64 = 12 * 3600
    /// scrypt cost: N = 2^logN. Tests lower it.
    public var scryptLogN = 17
    public var totpIssuer = "Portal"
    /// `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…`; nil logs mails.
    public var smtpURL: String?
    public var mailFrom = "Portal <no-reply@portal.localhost>"
    /// The ISO 3166-1 country list (Debian's iso-codes).
    public var countriesFile = "/usr/share/iso-codes/json/iso_3166-1.json"
    public var clock = PortalClock.system
    /// The API request log (`/v1`, `/oauth`): on unless the operator turns it off
    /// (`--api-log off`, `PORTAL_API_LOG=off`), e.g. to measure what it costs.
    public var apiRequestLog = true
    /// Days API request log rows are kept, and the masked bodies of failed requests.
    public var apiLogRetentionDays = 30
    public var apiLogBodyRetentionDays = 7
    /// The `/v1` rate limit per credential: a token bucket refilling at this many requests a
    /// second, holding at most `apiBurst`.
    public var apiRequestsPerSecond: Double = 100
    public var apiBurst: Double = 200
    /// Failed API credentials (401s) a client address may send per second, in bursts of
    /// `apiAuthFailuresBurst`, before its 401s are answered `apiAuthFailureDelay` late.
    /// Separate from the per-credential rate: only failures count, never a working key.
    public var apiAuthFailuresPerSecond: Double = 20
    public var apiAuthFailuresBurst: Double = 40
    public var apiAuthFailureDelay: Duration = .seconds(1)
    /// Lets webhooks go to loopback, private and link-local addresses (development and tests;
    /// `--webhooks-allow-private-networks`, `PORTAL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1`).
    public var webhooksAllowPrivateNetworks = false
    /// Days webhook deliveries and their attempts are kept (`--webhook-days`).
    public var webhookRetentionDays = 30
    /// Sender threads of the webhook dispatcher, and how many of them one endpoint may hold.
    public var webhookSenders = 16
    public var webhookSendersPerEndpoint = 4
    /// How webhook hosts are resolved (nil: the system's resolver); tests resolve a name to
    /// 127.0.0.1 without DNS.
    var webhookResolver: OutboundClient.Resolver?
    /// Verifiers of other kinds of credential, asked after the API keys' (OAuth's, later).
    var apiVerifiers: [any APICredentialVerifier] = []
    /// Addresses of the TLS terminators allowed to vouch for a client certificate: from them
    /// only, ``clientCertificateHeader`` carries the certificate's SHA-256 (base64url or hex),
    /// and access tokens bound to a certificate (RFC 8705 `cnf`) then need it to match. Empty:
    /// certificate-bound tokens are not checked (no terminator tells us the certificate).
    public var trustedProxies: [String] = []
    public var clientCertificateHeader = "X-Client-Cert-SHA256"

    public init() {}

    var resolvedSecureCookies: Bool { secureCookies ?? baseURL.lowercased().hasPrefix("https://") }

    var resolvedSecretKeyFile: String {
        if let secretKeyFile { return secretKeyFile }
        let dir = (databasePath as NSString).deletingLastPathComponent
        return (dir.isEmpty ? "." : dir) + "/secret.key"
    }

    /// `scheme://host[:port]` of the base URL, as browsers send it in `Origin`.
    var baseOrigin: String {
        guard let url = URL(string: baseURL), let scheme = url.scheme, let host = url.host else { return baseURL }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }
}
