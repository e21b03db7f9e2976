import Foundation
import Synchronization
import Web

/// The account page's view model. A `ViewModel` class (not a dictionary or a plain struct)
/// so swift-mustache finds each value with one cast; the long time-zone list is HTML built
/// once at start-up, with only the user's own zone marked per request.
final class AccountPage: ViewModel {
    let user: UserRecord
    let values: [String: Any]
    let errors: [String: String]
    let sessions: [SessionRow]
    let recoveryCodesLeft: Int
    let events: [EventRow]

    init(accounts: Accounts, session: SessionRecord, user: UserRecord, values: [String: Any], errors: [String: String]) throws {
        self.user = user
        self.values = values
        self.errors = errors
        let zone = user.timeZone
        let (sessions, left, events) = try accounts.accountOverview(user: user)
        self.sessions = sessions.map { SessionRow($0, current: $0.id == session.id, zone: zone) }
        self.recoveryCodesLeft = left
        self.events = events.map { EventRow($0, zone: zone) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Your account"
        case "name": values["name"] ?? user.name
        case "email": user.email
        case "phone": values["phone"] ?? user.phone
        case "timeZoneOptions": AccountPage.timeZoneOptions(selected: values["timeZone"] as? String ?? user.timeZone)
        case "productNews": user.productNews
        case "reportReady": user.reportReady
        case "newEmail": values["newEmail"] ?? ""
        case "errors": errors
        case "hasErrors": !errors.isEmpty
        case "sessions": sessions
        case "hasOtherSessions": sessions.count > 1
        case "recoveryCodesLeft": recoveryCodesLeft
        case "recoveryCodesLow": recoveryCodesLeft <= 3
        case "events": events
        case "memberSince": Accounts.formatTime(user.createdAt, zone: user.timeZone)
        default:
            // `{{error_field}}`: one flat lookup per field, no dotted path to split and walk.
            name.hasPrefix("error_") ? errors[String(name.dropFirst(6))] : nil
        }
    }

    /// `<option>`s for every time zone, built once; the variant with a zone selected is
    /// built the first time that zone is asked for, then reused.
    static let allTimeZoneOptions: [(zone: String, html: String)] = Accounts.timeZones.sorted().map { z in
        (z, "<option value=\"\(htmlEscape(z))\">\(htmlEscape(z.replacingOccurrences(of: "_", with: " ")))</option>\n")
    }
    private static let optionsBySelection = Mutex<[String: String]>([:])

    static func timeZoneOptions(selected: String) -> String {
        if let cached = optionsBySelection.withLock({ $0[selected] }) { return cached }
        var html = ""
        html.reserveCapacity(allTimeZoneOptions.count * 48)
        for o in allTimeZoneOptions {
            if o.zone == selected {
                html += "<option value=\"\(htmlEscape(o.zone))\" selected>\(htmlEscape(o.zone.replacingOccurrences(of: "_", with: " ")))</option>\n"
            } else {
                html += o.html
            }
        }
        // Only real zones are cached (a typed-in value is not), so the cache stays bounded.
        if Accounts.timeZones.contains(selected) { optionsBySelection.withLock { $0[selected] = html } }
        return html
    }

    final class SessionRow: ViewModel {
        let s: SessionRecord
        let current: Bool
        let lastSeen: String
        let started: String
        init(_ s: SessionRecord, current: Bool, zone: String) {
            self.s = s
            self.current = current
            self.lastSeen = Accounts.formatTime(s.lastSeenAt, zone: zone)
            self.started = Accounts.formatTime(s.createdAt, zone: zone)
        }
        func child(named name: String) -> Any? {
            switch name {
            case "id": s.id
            case "device": AccountPage.describeAgent(s.userAgent)
            case "ip": s.ip
            case "lastSeen": lastSeen
            case "started": started
            case "current": current
            default: nil
            }
        }
    }

    final class EventRow: ViewModel {
        let e: AuditEvent
        let when: String
        init(_ e: AuditEvent, zone: String) {
            self.e = e
            self.when = Accounts.formatTime(e.at, zone: zone)
        }
        func child(named name: String) -> Any? {
            switch name {
            case "when": when
            case "what": AccountPage.describeAction(e.action)
            case "ip": e.ip
            case "details": e.details
            default: nil
            }
        }
    }

    /// "Firefox on Linux" from a User-Agent, good enough to recognise one's own devices.
    static func describeAgent(_ ua: String) -> String {
        if ua.isEmpty { return "Unknown device" }
        // Ordered: the first match wins (Edge and Opera also say Chrome; iPhone says Mac OS X).
        let browsers: [(String, String)] = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome", "Headless Chrome"),
                                            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python", "Python")]
        let systems: [(String, String)] = [("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                           ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux")]
        let browser = browsers.first { ua.contains($0.0) }?.1 ?? "Browser"
        let os = systems.first { ua.contains($0.0) }?.1
        return os.map { "\(browser) on \($0)" } ?? browser
    }

    static func describeAction(_ action: String) -> String {
        switch action {
        case "signup": "Account created"
        case "signup.demo": "Demo account created"
        case "email.verified": "E-mail address confirmed"
        case "login.password_accepted": "Password accepted"
        case "login.succeeded": "Signed in"
        case "login.failed": "Failed sign-in"
        case "login.mfa_failed": "Wrong two-factor code"
        case "login.locked": "Sign-in locked after too many failures"
        case "login.throttled", "login.mfa_throttled", "reauth.throttled": "Attempt refused: too many failures"
        case "logout": "Signed out"
        case "mfa.enrolled": "Two-factor authentication set up"
        case "mfa.enrol_failed": "Two-factor set-up code did not match"
        case "mfa.recovery_codes_regenerated": "New recovery codes made"
        case "password.changed": "Password changed"
        case "password.change_failed", "reauth.failed": "Wrong password or code for a change"
        case "password.reset_requested": "Password reset requested"
        case "password.reset": "Password reset"
        case "email.change_requested": "E-mail change requested"
        case "email.changed": "E-mail address changed"
        case "email.verification_resent": "Verification link sent again"
        case "account.profile_updated": "Personal details updated"
        case "account.preferences_updated": "Communication preferences updated"
        case "session.revoked": "A session was signed out"
        case "session.revoked_others": "Other sessions were signed out"
        case "support.mfa_reset_requested": "Asked support to reset two-factor authentication"
        default: action
        }
    }
}
