import Foundation
import HTTP
import Web

/// The app pages of an environment (list, register, an app with its credentials,
/// subscriptions, certificate and redirect URIs), the organization's certificate store, and
/// filing the PSD2 licence. No rules and no SQL here: ``Apps`` decides.
///
/// A client secret is only ever in the body of the POST response that made it
/// (`Cache-Control: no-store`): never in a redirect, a flash message, a cookie or a log line.
struct AppsController {
    let apps: Apps
    let templates: Templates

    /// "Apps" in the environment's bar and "Certificates" in the organization's, for members
    /// who see apps or manage them.
    static let menu: [OrgSection] = [
        OrgSection("Apps", path: "apps", anyOf: [.appsRead, .appsWrite], scope: .environment, order: 42),
        OrgSection("Certificates", path: "certificates", anyOf: [.appsRead, .appsWrite], scope: .organization, order: 43),
    ]

    func register(on router: inout Router) {
        router.environments(organizations: apps.organizations, templates: templates) { r in
            r.get("/apps") { req in try list(req) }
            r.get("/apps/new") { req in try newPage(req) }
            r.post("/apps/new") { req in try create(req) }
            r.get("/apps/:app") { req in try appPage(req) }
            r.post("/apps/:app/rename") { req in try rename(req) }
            r.post("/apps/:app/delete") { req in try delete(req) }
            r.post("/apps/:app/credentials") { req in try addCredential(req) }
            r.post("/apps/:app/credentials/:cred/rename") { req in try renameCredential(req) }
            r.post("/apps/:app/credentials/:cred/verify") { req in try verify(req) }
            r.post("/apps/:app/credentials/:cred/reset") { req in try reset(req) }
            r.post("/apps/:app/subscriptions") { req in try subscribe(req) }
            r.post("/apps/:app/subscriptions/:product/remove") { req in try unsubscribe(req) }
            r.post("/apps/:app/redirect-uris") { req in try addRedirectURI(req) }
            r.post("/apps/:app/redirect-uris/:uri") { req in try changeRedirectURI(req) }
            r.post("/apps/:app/redirect-uris/:uri/remove") { req in try removeRedirectURI(req) }
            r.post("/apps/:app/certificate") { req in try selectCertificate(req) }
        }
        router.group("/orgs/:org", middleware: [Gate(allowed: [.active]), OrgGate(organizations: apps.organizations)]) { r in
            r.get("/certificates") { req in try certificatesPage(req) }
            r.post("/certificates") { req in try uploadCertificate(req) }
            r.post("/psd2-licence") { req in try fileLicence(req) }
        }
    }

    static func base(_ env: EnvAccess) -> String { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/apps" }

    // MARK: - list, register

    func list(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let all = try apps.list(env)
        return try templates.render(page: "apps/index", context: AppsListPage(env: env, apps: all, mayChange: apps.mayChange(env)), request: req)
    }

    func newPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        try env.require(.appsWrite)
        return try templates.render(page: "apps/new", context: NewAppPage(env: env, form: form), request: req, status: status)
    }

    /// In Production the form also carries the member's authenticator `code`; a form shown
    /// again keeps what was typed but never the code (it is single use).
    func create(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let name = f["name"] ?? ""
        let expiry = f["expires_in_days"] ?? ""
        let values = ["name": name, "expires_in_days": expiry]
        let order = ["name", "expires_in_days", "code"]
        do {
            let created = try apps.register(env, name: name, expiresInDays: expiry, code: f["code"] ?? "", actor: req.actor())
            return try secretPage(req, env: env, created: created, isNewApp: true)
        } catch OrgProblem.invalid(let errors) {
            return try newPage(req, form: FormState(values: values, errors: errors, order: order), status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            var res = try newPage(req, form: FormState(values: values, errors: ["code": Self.waitForCode(seconds)], order: order),
                                  status: .tooManyRequests)
            res.headers.set("Retry-After", "\(seconds)")
            return res
        }
    }

    /// The one page that ever holds a secret: the answer to the POST that made it.
    private func secretPage(_ req: Request, env: EnvAccess, created: Apps.Created, isNewApp: Bool = false, isReset: Bool = false) throws -> HTTPResponse {
        var res = try templates.render(page: "apps/secret", context: AppSecretPage(env: env, created: created, isNewApp: isNewApp, isReset: isReset),
                                       request: req, status: .created)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    // MARK: - the app page

    func appPage(_ req: Request, form: FormState = .empty, formClientID: String? = nil, verifyResult: (String, Bool)? = nil,
                 status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        let detail = try apps.detail(env, req.parameters["app"] ?? "")
        let licence = try apps.licenceState(organizationID: env.org.id)
        let page = AppPage(env: env, detail: detail, mayChange: apps.mayChange(env), now: apps.clock.now(), form: form, formClientID: formClientID,
                           verifyResult: verifyResult.map { (clientID: $0.0, matched: $0.1) }, licence: licence.licence,
                           licencePending: licence.pending?.publicID)
        var res = try templates.render(page: "apps/app", context: page, request: req, status: status)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    private func appURL(_ env: EnvAccess, _ req: Request) -> String { "\(Self.base(env))/\(req.parameters["app"] ?? "")" }

    /// Runs a change of the app page: a success flashes `message` and goes back to the page;
    /// a refusal shows the page again with the message beside the field (`fields` typed
    /// values kept), a conflict at the top.
    private func change(_ req: Request, values: [String: String], clientID: String? = nil, anchor: String = "",
                        _ body: (EnvAccess) throws -> String) throws -> HTTPResponse {
        let env = try req.envAccess()
        do {
            let message = try body(env)
            req.flash(.success, message)
            return .redirect(to: appURL(env, req) + anchor)
        } catch OrgProblem.invalid(let errors) {
            return try appPage(req, form: FormState(values: values, errors: errors, order: Array(values.keys)), formClientID: clientID,
                               status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try appPage(req, form: FormState(values: values, errors: ["form": message]), formClientID: clientID, status: .conflict)
        }
    }

    func rename(_ req: Request) throws -> HTTPResponse {
        let name = try req.form()["name"] ?? ""
        return try change(req, values: ["name": name]) { env in
            let app = try apps.rename(env, req.parameters["app"] ?? "", name: name, actor: req.actor())
            return "The app is now called “\(app.name)”."
        }
    }

    func delete(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let confirm = try req.form()["confirm_name"] ?? ""
        do {
            let app = try apps.delete(env, req.parameters["app"] ?? "", confirmName: confirm, actor: req.actor())
            req.flash(.success, "The app “\(app.name)” is deleted: its credentials no longer work.")
            return .redirect(to: Self.base(env))
        } catch OrgProblem.invalid(let errors) {
            return try appPage(req, form: FormState(values: ["confirm_name": confirm], errors: errors, order: ["confirm_name"]), status: .unprocessableContent)
        }
    }

    // MARK: - credentials

    func addCredential(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let name = f["name"] ?? ""
        let expiry = f["expires_in_days"] ?? ""
        // The page's other forms have fields of the same names: this one's are prefixed.
        let values = ["credential_name": name, "expires_in_days": expiry]
        do {
            let created = try apps.addCredential(env, req.parameters["app"] ?? "", name: name, expiresInDays: expiry, code: f["code"] ?? "",
                                                 actor: req.actor())
            return try secretPage(req, env: env, created: created)
        } catch OrgProblem.invalid(let errors) {
            var shown: [String: String] = [:]
            if let e = errors["name"] { shown["credential_name"] = e }
            if let e = errors["expires_in_days"] { shown["expires_in_days"] = e }
            if let e = errors["code"] { shown["credential_code"] = e }
            return try appPage(req, form: FormState(values: values, errors: shown), status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            var res = try appPage(req, form: FormState(values: values, errors: ["credential_code": Self.waitForCode(seconds)]), status: .tooManyRequests)
            res.headers.set("Retry-After", "\(seconds)")
            return res
        }
    }

    func renameCredential(_ req: Request) throws -> HTTPResponse {
        let name = try req.form()["name"] ?? ""
        let clientID = req.parameters["cred"] ?? ""
        return try change(req, values: ["name": name], clientID: clientID, anchor: "#credentials") { env in
            let c = try apps.renameCredential(env, req.parameters["app"] ?? "", clientID: clientID, name: name, actor: req.actor())
            return "The credentials \(c.clientID) are now called “\(c.name)”."
        }
    }

    /// The pasted secret never comes back in the page, the flash or a log line.
    func verify(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let pasted = try req.form()["secret"] ?? ""
        let clientID = req.parameters["cred"] ?? ""
        do {
            let matched = try apps.verifySecret(env, req.parameters["app"] ?? "", clientID: clientID, pasted: pasted, actor: req.actor())
            return try appPage(req, formClientID: clientID, verifyResult: (clientID, matched))
        } catch OrgProblem.invalid(let errors) {
            return try appPage(req, form: FormState(errors: errors), formClientID: clientID, status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            var res = try appPage(req, form: FormState(errors: ["secret": Self.wait(seconds)]), formClientID: clientID, status: .tooManyRequests)
            res.headers.set("Retry-After", "\(seconds)")
            return res
        }
    }

    static func wait(_ seconds: Int64) -> String {
        "Too many wrong secrets. Wait \(seconds >= 120 ? "\(seconds / 60) minutes" : "\(seconds) seconds") and try again."
    }

    static func waitForCode(_ seconds: Int64) -> String {
        "Too many wrong codes. Wait \(seconds >= 120 ? "\(seconds / 60) minutes" : "\(seconds) seconds") and try again."
    }

    func reset(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let overlap = f["overlap"] ?? ""
        let clientID = req.parameters["cred"] ?? ""
        do {
            let created = try apps.resetSecret(env, req.parameters["app"] ?? "", clientID: clientID, overlap: overlap, code: f["code"] ?? "",
                                               actor: req.actor())
            return try secretPage(req, env: env, created: created, isReset: true)
        } catch OrgProblem.invalid(let errors) {
            return try appPage(req, form: FormState(values: ["overlap": overlap], errors: errors), formClientID: clientID, status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            var res = try appPage(req, form: FormState(values: ["overlap": overlap], errors: ["code": Self.waitForCode(seconds)]), formClientID: clientID,
                                  status: .tooManyRequests)
            res.headers.set("Retry-After", "\(seconds)")
            return res
        } catch OrgProblem.conflict(let message) {
            return try appPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    // MARK: - subscriptions

    func subscribe(_ req: Request) throws -> HTTPResponse {
        let product = try req.form()["product"] ?? ""
        return try change(req, values: ["product": product], anchor: "#subscriptions") { env in
            let p = try apps.subscribe(env, req.parameters["app"] ?? "", product: product, actor: req.actor())
            return "The app is subscribed to \(p.title): it may ask for \(p.scopes.joined(separator: " "))."
        }
    }

    /// Without `confirm=yes` the answer is a page asking to confirm; the confirming form removes.
    func unsubscribe(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let productID = req.parameters["product"] ?? ""
        guard f["confirm"] == "yes" else {
            let detail = try apps.detail(env, req.parameters["app"] ?? "")
            try env.require(.appsWrite)
            guard let product = AppProduct.named(productID), detail.subscriptions.contains(where: { $0.product == productID }) else {
                throw OrgProblem.notFound
            }
            return try templates.render(page: "apps/unsubscribe_confirm", context: AppUnsubscribePage(env: env, app: detail.app, product: product),
                                        request: req)
        }
        let p = try apps.unsubscribe(env, req.parameters["app"] ?? "", product: productID, actor: req.actor())
        req.flash(.success, "The app is no longer subscribed to \(p.title).")
        return .redirect(to: appURL(env, req) + "#subscriptions")
    }

    // MARK: - redirect URIs

    func addRedirectURI(_ req: Request) throws -> HTTPResponse {
        let uri = try req.form()["uri"] ?? ""
        return try change(req, values: ["uri": uri], anchor: "#redirect-uris") { env in
            let u = try apps.addRedirectURI(env, req.parameters["app"] ?? "", uri: uri, actor: req.actor())
            return "Redirect URI \(u.value) added."
        }
    }

    func changeRedirectURI(_ req: Request) throws -> HTTPResponse {
        let uri = try req.form()["uri"] ?? ""
        let id = req.parameters["uri"] ?? ""
        return try change(req, values: [:], anchor: "#redirect-uris") { env in
            do {
                let u = try apps.changeRedirectURI(env, req.parameters["app"] ?? "", uriID: id, uri: uri, actor: req.actor())
                return "Redirect URI changed to \(u.value)."
            } catch OrgProblem.invalid(let errors) {
                // Shown at the top of the page: the list's forms have no message slot each.
                throw OrgProblem.invalid(["form": "Not changed: " + (errors["uri"] ?? "")])
            }
        }
    }

    func removeRedirectURI(_ req: Request) throws -> HTTPResponse {
        try change(req, values: [:], anchor: "#redirect-uris") { env in
            let uri = try apps.removeRedirectURI(env, req.parameters["app"] ?? "", uriID: req.parameters["uri"] ?? "", actor: req.actor())
            return "Redirect URI \(uri) removed."
        }
    }

    // MARK: - certificates

    func selectCertificate(_ req: Request) throws -> HTTPResponse {
        let chosen = try req.form()["certificate"] ?? ""
        return try change(req, values: ["certificate": chosen], anchor: "#certificate") { env in
            let cert = try apps.selectCertificate(env, req.parameters["app"] ?? "", certificate: chosen, actor: req.actor())
            return cert.map { "The app uses the certificate \($0.subject) (\($0.fingerprint.prefix(23))…)." } ?? "The app uses no certificate."
        }
    }

    func certificatesPage(_ req: Request, form: FormState = .empty, duplicate: CertificateRecord? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let all = try apps.certificates(access)
        let page = CertificatesPage(access: access, certificates: all, mayChange: access.can(.appsWrite), now: apps.clock.now(), form: form,
                                    duplicate: duplicate)
        return try templates.render(page: "apps/certificates", context: page, request: req, status: status)
    }

    /// `certificate` as a file (multipart) or pasted text (either form encoding). A refused
    /// upload is never echoed back: it may hold a private key.
    func uploadCertificate(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        var upload: [UInt8] = []
        if req.mediaType == "multipart/form-data" {
            let form = try req.multipart()
            if let file = form.file("certificate"), !file.body.isEmpty { upload = file.body }
            else { upload = Array(([form["certificate"], form["certificate_text"]].compactMap { $0 }.first { !$0.isEmpty } ?? "").utf8) }
        } else {
            let form = try req.form()
            upload = Array(([form["certificate"], form["certificate_text"]].compactMap { $0 }.first { !$0.isEmpty } ?? "").utf8)
        }
        do {
            let cert = try apps.uploadCertificate(access, upload: upload, actor: req.actor())
            req.flash(.success, "Certificate \(cert.subject) stored (SHA-256 \(cert.fingerprint)). Choose it on an app's page.")
            return .redirect(to: "/orgs/\(access.org.publicID)/certificates")
        } catch OrgProblem.invalid(let errors) {
            return try certificatesPage(req, form: FormState(errors: errors, order: ["certificate"]), status: .unprocessableContent)
        } catch let duplicate as CertificateDuplicate {
            let message = "This certificate is already in your store as \(duplicate.existing.publicID): choose it on an app's page instead."
            return try certificatesPage(req, form: FormState(errors: ["certificate": message]), duplicate: duplicate.existing, status: .conflict)
        }
    }

    // MARK: - the PSD2 licence

    func fileLicence(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let back = f["back"].flatMap { $0.hasPrefix("/orgs/\(access.org.publicID)/") && !$0.contains("//") ? $0 : nil }
            ?? "/orgs/\(access.org.publicID)/sandbox/apps"
        do {
            let request = try apps.fileLicence(access, number: f["licence_number"] ?? "", authority: f["authority"] ?? "",
                                               registerURL: f["register_url"] ?? "", actor: req.actor())
            req.flash(.success, "Support has your PSD2 licence (\(request)). The PSD2 products unlock when support approves it; you get an e-mail.")
        } catch OrgProblem.invalid(let errors) {
            req.flash(.error, errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        } catch OrgProblem.conflict(let message) {
            req.flash(.error, message)
        }
        return .redirect(to: back)
    }
}
